import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** What {@link run} reports: the exit code (null when killed by a signal) and what went to stderr. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * run starts a program (no shell) and resolves when it exits, with its exit status and stderr
 * (first 64 KiB). Rejects only when it cannot be started (ENOENT …). `signal` kills it.
 */
export function run(argv: readonly string[], opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, stdio: ['ignore', 'ignore', 'pipe'], signal: opts.signal });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 65536) stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/**
 * which returns the absolute path of an executable on PATH, then /usr/sbin and /sbin (or the
 * path itself when it has a `/`), or undefined: the helper tools' lookup (fuse-overlayfs, and
 * @stratum/container's slirp4netns, newuidmap, newgidmap).
 */
export function which(name: string): string | undefined {
  const dirs = name.includes('/') ? [''] : (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin']);
  for (const d of dirs) {
    const p = d ? `${d}/${name}` : name;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
