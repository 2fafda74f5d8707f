import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createLayer, readTar } from '@stratum/layer';
import { spawn as nsSpawn, type NamespaceHandle, type Process } from '@stratum/namespace';
import type { ImageConfig } from '@stratum/oci';
import { memoryImage, memoryLayer, type Capability } from '@stratum/testing';
import type { DriverName } from '@stratum/union-fs';
import { Container, Runtime } from '../src/index.js';

/** DRIVERS: the storage drivers the conformance loops run over, with what each needs of the host (CI has them all). */
export const DRIVERS: ReadonlyArray<{ name: DriverName; needs: Capability[] }> = [
  { name: 'overlay', needs: ['root', 'overlay'] },
  { name: 'fuse-overlayfs', needs: ['root', 'tool:fuse-overlayfs'] },
  { name: 'vfs', needs: ['root'] },
];

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

/** TestRuntime: a runtime in a temp dir, with the options another process needs to open it. */
export interface TestRuntime {
  rt: Runtime;
  dir: string;
  options: { root: string; network: { name: string; bridge: string; subnet: string } };
}

/** A runtime in a fresh temp root with a test-only default network (own bridge, subnet, nft table), and a forced storage `driver` if given. */
export async function testRuntime(tag: string, subnetByte = 231, driver?: DriverName): Promise<TestRuntime> {
  const dir = tempDir(tag);
  const n = (counter++ % 50) + (process.pid % 100);
  const network = { name: `stratum-ct${n}`, bridge: `stratum-ct${n}`, subnet: `10.${subnetByte}.${n}.0/24` };
  const root = join(dir, 'root');
  const rt = await Runtime.open({ root, defaultNetwork: network, ...(driver ? { driver } : {}) });
  return { rt, dir, options: { root, network } };
}

const pkgDir = join(import.meta.dirname, '..');

/** nodeScript starts `node --import tsx test/fixtures/NAME.ts JSON` with the sources' condition. */
export function nodeScript(name: string, arg: unknown): ChildProcess {
  return spawn(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', join(pkgDir, 'test', 'fixtures', `${name}.ts`), JSON.stringify(arg)], {
    cwd: pkgDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** runScript runs a fixture to its end and parses the JSON line it prints. */
export async function runScript<T>(name: string, arg: unknown): Promise<T> {
  const p = nodeScript(name, arg);
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`fixture ${name} failed (${code}): ${err}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** firstLine resolves with the first JSON line a running fixture prints (rejects with its stderr if it exits first). */
export function firstLine<T>(p: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as T);
    });
    p.on('exit', (c) => reject(new Error(`fixture exited (${c}) before reporting: ${err}`)));
  });
}

/** Deletes what testRuntime made: the default network (bridge, rules) and the temp dir. */
export async function disposeRuntime(t: TestRuntime): Promise<void> {
  // Whatever a failed test left running or mounted goes first (rm -rf must never cross a mount).
  for (const id of t.rt.state.ids()) {
    try {
      await (await Container.get(id, { runtime: t.rt })).remove({ force: true, volumes: true });
    } catch {
      // best effort
    }
  }
  await t.rt.gc().catch(() => undefined);
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

/**
 * busyboxImage writes an image of `rootfs` (one layer, made with @stratum/layer's createLayer) to
 * the runtime's store under `ref`, with `config` as the image's runtime config.
 */
export async function busyboxImage(rt: Runtime, rootfs: string, ref: string, config: ImageConfig['config'] = { Cmd: ['sh'] }): Promise<string> {
  const layer = createLayer({ from: undefined, to: rootfs }, { compression: 'none', reproducible: { mtime: 0 } });
  const chunks: Buffer[] = [];
  for await (const c of layer.stream) chunks.push(c as Buffer);
  const img = await memoryImage([memoryLayer(Buffer.concat(chunks))], { config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...config } });
  const store = await rt.store();
  await store.write(img, ref);
  return img.configDigest();
}

/** Suite: what {@link useSuite} prepares for a test file (filled in its beforeAll). */
export interface Suite extends TestRuntime {
  /** A busybox root filesystem (see busyboxRootfs). */
  rootfs: string;
}

/**
 * useSuite registers the beforeAll/afterAll of a test file that runs containers: a test runtime
 * (own root, bridge and subnet 10.SUBNET.x.0/24) with its default network made before the
 * per-test leak snapshots, a busybox rootfs, `setup` for more; everything deleted after. With
 * `driver`, the runtime's containers use that storage driver.
 * Returns the suite object (filled in beforeAll; nothing is made without root).
 */
export function useSuite(
  tag: string,
  subnetByte: number,
  hooks: { beforeAll(fn: () => Promise<void>): void; afterAll(fn: () => Promise<void>): void },
  opts: { network?: boolean; driver?: DriverName; setup?: (s: Suite) => Promise<void> } = {},
): Suite {
  const suite = {} as Suite;
  hooks.beforeAll(async () => {
    if (process.getuid?.() !== 0) return;
    Object.assign(suite, await testRuntime(tag, subnetByte, opts.driver));
    suite.rootfs = busyboxRootfs(join(suite.dir, 'rootfs'));
    if (opts.network ?? true) await suite.rt.networks.get();
    await opts.setup?.(suite);
  });
  hooks.afterAll(async () => {
    if (suite.rt) await disposeRuntime(suite);
  });
  return suite;
}

/** httpGet fetches a URL's body as text (5 s timeout). */
export function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * crunMountNamespace: a mount namespace, held by a sleeping process, where /sys/fs/cgroup/unified
 * is unmounted — crun 1.8 refuses this hybrid host otherwise; run it with `nsenter --mount=PATH`.
 */
export async function crunMountNamespace(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const holder: Process = await nsSpawn({
    argv: ['/bin/sh', '-c', 'umount /sys/fs/cgroup/unified 2>/dev/null; echo ready; exec sleep 3600'],
    namespaces: { mount: true },
    rootfsPropagation: 'private',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((r) => holder.stdout!.once('data', r));
  const mnt: NamespaceHandle = holder.namespace('mount');
  return {
    path: mnt.path,
    [Symbol.asyncDispose]: async () => {
      mnt.close();
      await holder[Symbol.asyncDispose]();
    },
  };
}

/** TarMember: what {@link tarListing} keeps of a tar member (files' data as text). */
export interface TarMember {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
  data?: string;
}

/** tarListing reads a tar (file or bytes) into name → member, names without `./` or a trailing `/`. */
export async function tarListing(source: string | Buffer): Promise<Map<string, TarMember>> {
  const out = new Map<string, TarMember>();
  for await (const e of readTar(typeof source === 'string' ? source : Readable.from([source]))) {
    const name = e.name.replace(/^\.\//, '').replace(/\/$/, '');
    let data: string | undefined;
    if (e.type === 'file') {
      const chunks: Buffer[] = [];
      for await (const c of e.data) chunks.push(c as Buffer);
      data = Buffer.concat(chunks).toString('latin1');
    }
    out.set(name, { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, linkname: e.linkname, ...(data !== undefined ? { data } : {}) });
  }
  return out;
}
