import { constants as osConstants } from 'node:os';
import { Fd, describe, fdNumber, type FdLike } from './fd.js';
import { native } from './native.js';
import { str } from './validate.js';

/** SpawnProcessOptions: what {@link spawnProcess} starts and which descriptors it gets. */
export interface SpawnProcessOptions {
  /** Absolute path of the executable (no PATH search). */
  path: string;
  /** argv, including argv[0]. */
  argv: string[];
  /** The whole environment as `NAME=value` strings (default: empty). */
  env?: string[];
  /** `fds[i]` becomes the child's descriptor i; the child gets no other descriptor. */
  fds: FdLike[];
}

/** Spawned: a child started by {@link spawnProcess}: its pid and a pidfd naming it. */
export interface Spawned {
  pid: number;
  /** A pidfd of the child (signal it with `pidfdSendSignal`, watch it with {@link watchPidfd}). */
  pidfd: Fd;
}

/**
 * PidfdExit: how a child ended: its exit code, or the signal that killed it; both null with
 * `error` (ECHILD) when something else reaped it first.
 */
export interface PidfdExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

/**
 * spawnProcess starts `path` as glibc's posix_spawn(3) would — clone(CLONE_VM | CLONE_VFORK), so its
 * cost does not grow with the Node process's memory as child_process's fork() does — and gets a
 * pidfd of it from the clone itself (CLONE_PIDFD). The child gets `fds[i]` as its descriptor i
 * and nothing else (close_range), default actions for every signal (Node ignores SIGPIPE; glibc's
 * internal signals too, which posix_spawn would leave ignored) and an empty signal mask; its cwd
 * is the caller's. An exec failure (ENOENT, EACCES) throws an ErrnoError (syscall 'execve') with
 * nothing left running. The child is the caller's to reap: {@link watchPidfd} does it. Like
 * `spawn` without a shell.
 */
export function spawnProcess(opts: SpawnProcessOptions): Spawned {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`spawnProcess: options must be an object, got ${describe(opts)}`);
  const path = str(opts.path, 'spawnProcess', 'path');
  if (!path.startsWith('/')) throw new TypeError('spawnProcess: path must be absolute');
  const strings = (v: unknown, what: string): string[] => {
    if (!Array.isArray(v)) throw new TypeError(`spawnProcess: ${what} must be an array of strings, got ${describe(v)}`);
    return v.map((s) => str(s, 'spawnProcess', what, { empty: true }));
  };
  const argv = strings(opts.argv, 'argv');
  if (argv.length === 0) throw new TypeError('spawnProcess: argv must not be empty');
  const env = opts.env === undefined ? [] : strings(opts.env, 'env');
  if (!Array.isArray(opts.fds)) throw new TypeError(`spawnProcess: fds must be an array, got ${describe(opts.fds)}`);
  const fds = opts.fds.map((fd) => {
    const n = fdNumber(fd, 'spawnProcess');
    if (n < 0) throw new TypeError('spawnProcess: fds must be open descriptors');
    return n;
  });
  const r = native.spawnProcess(path, argv, env, fds);
  return { pid: r.pid, pidfd: new Fd(r.pidfd) };
}

/**
 * watchPidfd calls `onExit` once the child named by `pidfd` has exited, after reaping it
 * (waitid(P_PIDFD)); until then an active handle keeps Node's event loop alive, as a child
 * process does. It keeps its own copy of the descriptor: the caller may close `pidfd` at any
 * time. Only for a child of this process that nothing else reaps (one from {@link spawnProcess}).
 */
export function watchPidfd(pidfd: FdLike, onExit: (status: PidfdExit) => void): void {
  if (typeof onExit !== 'function') throw new TypeError('watchPidfd: onExit must be a function');
  native.watchPidfd(fdNumber(pidfd, 'watchPidfd'), (code: number | null, signal: number | null, error: Error | null) => {
    const status: PidfdExit = { code, signal: signal === null ? null : (signalNames.get(signal) ?? (`SIG${signal}` as NodeJS.Signals)) };
    if (error) status.error = error;
    onExit(status);
  });
}

/** canSpawnProcess tells whether the loaded addon has {@link spawnProcess} and {@link watchPidfd} (an addon built before them has not). */
export function canSpawnProcess(): boolean {
  return typeof (native as Partial<typeof native>).spawnProcess === 'function' && typeof (native as Partial<typeof native>).watchPidfd === 'function';
}

/** pipe returns a new pipe's `[read, write]` ends, both O_CLOEXEC. pipe2(2). */
export function pipe(): [Fd, Fd] {
  const [r, w] = native.pipe();
  return [new Fd(r), new Fd(w)];
}

/** socketpair returns two connected AF_UNIX stream sockets, both O_CLOEXEC. socketpair(2). */
export function socketpair(): [Fd, Fd] {
  const [a, b] = native.socketpair();
  return [new Fd(a), new Fd(b)];
}
