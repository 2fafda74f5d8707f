import { spawn as cpSpawn } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import { ErrnoError, pidfdSendSignal, pipe, spawnProcess, socketpair, watchPidfd, type Fd } from '@stratum/native';
import { signalNumber } from './spec.js';
import type { ExitStatus } from './process.js';

/** Slot: what the helper gets as one of its descriptors 0..4 (as in child_process's stdio). */
export type Slot = 'pipe' | 'ignore' | 'inherit' | number;

/**
 * Helper: the started `stratum-init`: its pid, the parent's ends of its pipes (stdout/stderr
 * safe to read after the exit, see {@link holdOutput}) and of the control socket (fd 3), its
 * exit, and kill.
 * @internal
 */
export interface Helper {
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly control: Duplex;
  /** Resolves once the helper has exited and was reaped. */
  readonly exited: Promise<ExitStatus>;
  /** Signals the helper; false once it has exited. */
  kill(signal?: NodeJS.Signals | number): boolean;
  /** Calls `cb` if the helper could not be started after all (child_process reports that late). */
  onError(cb: (e: Error) => void): void;
}

/**
 * holdOutput takes a child's piped output into a stream of ours at once. Node's child_process
 * resumes (and so discards) every piped output nobody listens to when the child exits: a program
 * that exits before the caller of spawn() starts reading would lose its whole output.
 */
function holdOutput(source: Readable | null): Readable | null {
  if (!source) return null;
  const held = new PassThrough();
  source.pipe(held);
  // A reset socket ends the output; the exit status tells the rest.
  source.on('error', () => held.end());
  return held;
}

/** What fits a socket's buffer for sure: written before the helper exists, never blocking. */
const PREWRITE_MAX = 64 * 1024;

/**
 * launchNative starts the helper with the addon's spawnProcess (a vfork-style clone, no fork of
 * the Node process: its cost does not grow with Node's memory) and learns of its exit through a
 * pidfd. Slot 3 is
 * the control socket; the pipes and the socket are ours, each child end closed here once the
 * helper has its copy. `first` (the spec) is written to the control socket before the helper
 * starts, so that it finds it there at once.
 * @internal
 */
export function launchNative(path: string, slots: Slot[], first: Buffer): Helper {
  const childEnds: Fd[] = [];
  const parentEnds: Array<Fd | undefined> = [];
  const fds: number[] = [];
  let devNull: number | undefined;
  let prewritten = false;
  let spawned: ReturnType<typeof spawnProcess> | undefined;
  try {
    slots.forEach((slot, i) => {
      if (slot === 'pipe' && i === 3) {
        const [ours, theirs] = socketpair();
        parentEnds[i] = ours;
        if (first.length <= PREWRITE_MAX) {
          for (let off = 0; off < first.length; ) off += writeSync(ours.fd, first, off);
          prewritten = true;
        }
        childEnds.push(theirs);
        fds.push(theirs.fd);
      } else if (slot === 'pipe') {
        const [r, w] = pipe();
        parentEnds[i] = i === 0 ? w : r;
        const theirs = i === 0 ? r : w;
        childEnds.push(theirs);
        fds.push(theirs.fd);
      } else if (slot === 'ignore') {
        devNull ??= openSync('/dev/null', constants.O_RDWR);
        fds.push(devNull);
      } else {
        fds.push(slot === 'inherit' ? i : slot);
      }
    });
    spawned = spawnProcess({ path, argv: ['stratum-init'], env: [], fds });
  } catch (e) {
    for (const fd of parentEnds) fd?.close();
    throw e;
  } finally {
    for (const fd of childEnds) fd.close();
    if (devNull !== undefined) closeSync(devNull);
  }
  const { pid, pidfd } = spawned;
  const socket = (i: number, readable: boolean): Socket | null => {
    const fd = parentEnds[i];
    return fd ? new Socket({ fd: fd.release(), readable, writable: !readable || i === 3 }) : null;
  };
  const stdin = socket(0, false);
  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    watchPidfd(pidfd, ({ code, signal }) => {
      done = true;
      pidfd.close();
      // As child_process does: nothing reads the program's stdin any more.
      stdin?.destroy();
      resolve({ code, signal });
    });
  });
  const stdout = socket(1, true);
  const stderr = socket(2, true);
  const control = socket(3, true)!;
  if (!prewritten) control.write(first);
  // Our own pipes: nothing discards their data at the exit (unlike child_process's, see
  // holdOutput), so they are handed on as they are.
  return {
    pid,
    stdin,
    stdout,
    stderr,
    control,
    exited,
    kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
      if (done) return false;
      try {
        pidfdSendSignal(pidfd, signalNumber(signal, 'kill: signal'));
        return true;
      } catch (e) {
        if (e instanceof ErrnoError && e.code === 'ESRCH') return false;
        throw e;
      }
    },
    onError(): void {
      // spawnProcess throws at once; nothing is reported later.
    },
  };
}

/**
 * launchChildProcess starts the helper with Node's child_process (libuv forks the Node
 * process): the fallback for an addon built without spawnProcess.
 * @internal
 */
export function launchChildProcess(path: string, slots: Slot[], first: Buffer): Helper {
  const child = cpSpawn(path, [], { stdio: slots, env: {}, argv0: 'stratum-init' });
  (child.stdio[3] as Duplex).write(first);
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
  });
  return {
    get pid() {
      return child.pid;
    },
    stdin: child.stdin,
    stdout: holdOutput(child.stdout),
    stderr: holdOutput(child.stderr),
    control: child.stdio[3] as Duplex,
    exited,
    kill: (signal?: NodeJS.Signals | number) => child.kill(signal),
    onError: (cb) => void child.once('error', cb),
  };
}
