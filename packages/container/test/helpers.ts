import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../src/index.js';

/** A temp dir named stratum-ct-*, world-readable. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `stratum-ct-${tag}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A busybox-static root filesystem like the busybox image's: bin/busybox plus one relative
 * symlink per applet, /etc/passwd and /etc/group with root, daemon, nobody and a user `app`
 * (uid 1000, member of `staff`), /tmp, /root, /var/www.
 */
export function busyboxRootfs(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/usr/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const name of execFileSync('/usr/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (name && name !== 'busybox') symlinkSync('busybox', join(dir, 'bin', name));
  }
  for (const d of ['etc', 'tmp', 'root', 'var/www', 'home/app']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\ndaemon:x:1:\nstaff:x:50:app\napp:x:1000:\nnogroup:x:65534:\n');
  return dir;
}

let counter = 0;

/** A runtime in a fresh temp root with a test-only default network (own bridge, subnet, nft table). */
export async function testRuntime(tag: string, subnetByte = 231): Promise<{ rt: Runtime; dir: string }> {
  const dir = tempDir(tag);
  const n = (counter++ % 50) + (process.pid % 100);
  const rt = await Runtime.open({
    root: join(dir, 'root'),
    defaultNetwork: { name: `stratum-ct${n}`, bridge: `stratum-ct${n}`, subnet: `10.${subnetByte}.${n}.0/24` },
  });
  return { rt, dir };
}

/** Deletes what testRuntime made: the default network (bridge, rules) and the temp dir. */
export async function disposeRuntime(t: { rt: Runtime; dir: string }): Promise<void> {
  for (const name of t.rt.networks.names()) {
    try {
      await t.rt.networks.remove(name, { force: true });
    } catch {
      // never created
    }
  }
  await t.rt.close();
  rmSync(t.dir, { recursive: true, force: true });
}

/** Collects an async iterable of log lines into text. */
export async function collect(lines: AsyncIterable<{ text: string }>): Promise<string> {
  let out = '';
  for await (const l of lines) out += l.text;
  return out;
}
