/** Test helpers: run `stratum` in-process or as a child process and capture its output. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { main } from '../src/index.js';

/** Result of one command. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Sink collects what is written to it; `isTTY`/`columns` make it look like a terminal. */
export class Sink extends Writable {
  text = '';
  isTTY: boolean;
  columns: number;
  constructor(tty = false, columns = 120) {
    super();
    this.isTTY = tty;
    this.columns = columns;
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

/** RunOptions: the environment of one in-process run. */
export interface RunOptions {
  root?: string;
  stdin?: string | Readable;
  env?: Record<string, string | undefined>;
  cwd?: string;
  tty?: boolean;
}

/** stratum runs main() in-process with `--root root` and captured stdio. */
export async function stratum(argv: string[], opts: RunOptions = {}): Promise<Ran> {
  const stdout = new Sink(opts.tty ?? false);
  const stderr = new Sink(false);
  const stdin = typeof opts.stdin === 'string' ? Readable.from([Buffer.from(opts.stdin)]) : (opts.stdin ?? new PassThrough().end());
  const code = await main([...(opts.root !== undefined ? ['--root', opts.root] : []), ...argv], {
    stdout,
    stderr,
    stdin,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const pkg = join(import.meta.dirname, '..');

/** stratumProcess runs `src/bin.ts` as a child process (tsx, sources), as a user would. */
export function stratumProcess(argv: string[], opts: { input?: string; env?: Record<string, string | undefined>; cwd?: string } = {}): Ran {
  const r = spawnSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', join(pkg, 'src', 'bin.ts'), ...argv], {
    encoding: 'utf8',
    input: opts.input ?? '',
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd ?? join(pkg, '..', '..'),
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** tempRoot makes a fresh state directory named for stratum; `cleanup` deletes it. */
export function tempRoot(name: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), `stratum-cli-${name}-`));
  chmodSync(root, 0o755);
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * busyboxRootfs writes a busybox-static root filesystem into `dir`: bin/busybox with one
 * symlink per applet, /etc/passwd and /etc/group (root, nobody), /tmp, /root.
 */
export function busyboxRootfs(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const name of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (name !== '' && name !== 'busybox') symlinkSync('busybox', join(dir, 'bin', name));
  }
  for (const d of ['etc', 'tmp', 'root', 'var/www']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  return dir;
}
