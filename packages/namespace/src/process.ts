import { spawn as cpSpawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { ReadStream } from 'node:tty';
import { ErrnoError, initHelperPath, pidfdOpen, pidfdSendSignal, type Fd } from '@stratum/native';
import { NamespaceHandle } from './handle.js';
import type { Helper } from './launch.js';
import { signalNumber, type NamespaceKind } from './spec.js';

/** The pids whose parent is `pid` (from /proc/PID/stat, readable by anyone). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 2);
      if (Number(rest[1]) === pid) out.push(Number(name));
    } catch {
      // raced with exit
    }
  }
  return out.sort((a, b) => a - b);
}

/** ExitStatus: how a process ended: an exit code, or the signal that killed it (like child_process's 'exit'). */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** ProcessInit: what spawn() hands to the Process it builds (internal). @internal */
export interface ProcessInit {
  helper: Helper;
  pid: number;
  forks: boolean;
  /** The helper stays as init (init: true). */
  init: boolean;
  exited: Promise<ExitStatus>;
  tty?: { stream: ReadStream; fd: number };
  signal?: AbortSignal;
}

/**
 * Process is a program started by {@link spawn} or {@link enter}, running in its namespaces.
 * `pid` is its host pid (the container's PID 1 when it has a pid namespace). `wait()` resolves
 * once it has exited; `kill()` signals it; `await using` kills (SIGKILL) and reaps it, so nothing
 * outlives the block.
 *
 * Without `init: true`, a program that is PID 1 of its pid namespace gets no default signal
 * actions: the kernel drops SIGTERM, SIGINT, SIGHUP … sent to a namespace's init unless it
 * installed a handler, so a plain `sleep` ignores `kill('SIGTERM')` (`docker stop` then waits
 * and SIGKILLs). Use `init: true`, or a program that handles its signals.
 */
export class Process implements AsyncDisposable {
  /** Host pid of the program (or of its init with `init: true`). */
  readonly pid: number;
  /** Writes to the program's stdin ('pipe', or the terminal with a tty), else null. */
  readonly stdin: Writable | null;
  /** The program's stdout ('pipe', or the terminal's output with a tty), else null. */
  readonly stdout: Readable | null;
  /** The program's stderr ('pipe'), else null (a tty merges it into stdout). */
  readonly stderr: Readable | null;
  readonly #helper: Helper;
  readonly #forks: boolean;
  readonly #init: boolean;
  readonly #exited: Promise<ExitStatus>;
  readonly #tty?: { stream: ReadStream; fd: number };
  #status?: ExitStatus;
  #pidfd?: Fd;

  /** @internal Use {@link spawn}. */
  constructor(init: ProcessInit) {
    this.#helper = init.helper;
    this.pid = init.pid;
    this.#forks = init.forks;
    this.#init = init.init;
    if (init.tty) this.#tty = init.tty;
    if (init.forks) {
      // A pidfd names the program even if its pid is reused after it is reaped.
      try {
        this.#pidfd = pidfdOpen(init.pid);
      } catch {
        // Already exited and reaped (or pidfds unsupported): kill() falls back to the pid.
      }
    }
    if (init.tty) {
      const out = new PassThrough();
      const s = init.tty.stream;
      s.on('data', (d: Buffer) => out.write(d));
      // Reading a pty master whose slave side is closed fails with EIO: that is its end of file.
      s.on('error', () => out.end());
      s.on('end', () => out.end());
      this.stdin = s;
      this.stdout = out;
      this.stderr = null;
    } else {
      this.stdin = init.helper.stdin;
      this.stdout = init.helper.stdout;
      this.stderr = init.helper.stderr;
    }
    this.#exited = init.exited.then((st) => {
      this.#status = st;
      this.#pidfd?.close();
      return st;
    });
    const signal = init.signal;
    if (signal) {
      const onAbort = (): void => void this.kill('SIGKILL');
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#exited.then(() => signal.removeEventListener('abort', onAbort));
    }
  }

  /** Resolves with the exit status once the program has exited (and was reaped). Never rejects. */
  wait(): Promise<ExitStatus> {
    return this.#exited;
  }

  /** The exit status once exited, else undefined. */
  get exitStatus(): ExitStatus | undefined {
    return this.#status;
  }

  /**
   * kill sends `signal` (default SIGTERM) to the program; false when it has already exited. With
   * `init: true` it goes to the init, which forwards it. Like `kill -s SIG PID` / `docker kill -s`.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const sig = signalNumber(signal, 'kill: signal');
    if (this.#status) return false;
    if (!this.#forks) return this.#helper.kill(sig);
    try {
      if (this.#pidfd && !this.#pidfd.closed) pidfdSendSignal(this.#pidfd, sig);
      else process.kill(this.pid, sig);
      return true;
    } catch (e) {
      if ((e instanceof ErrnoError || (e as NodeJS.ErrnoException).code) && (e as { code?: string }).code === 'ESRCH') return false;
      throw e;
    }
  }

  /**
   * namespace opens one of the program's namespaces as a {@link NamespaceHandle} (an fd on
   * /proc/PID/ns/KIND) that keeps it alive after the program exits and can be joined by another
   * spawn or bind-mounted. Throws once the program has exited.
   */
  namespace(kind: NamespaceKind): NamespaceHandle {
    if (this.#status) throw new Error(`Process ${this.pid} has exited; its namespaces are gone`);
    try {
      return NamespaceHandle.open({ pid: this.pid }, kind);
    } catch (e) {
      // The init (init: true) is not dumpable, so that the container cannot reach the helper's
      // binary through /proc/1/exe (CVE-2019-5736); without CAP_SYS_PTRACE its /proc/PID/ns is
      // closed to us too. Its program lives in the same namespaces and is readable.
      if (!this.#init || (e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
      for (const child of childPids(this.pid)) {
        try {
          return NamespaceHandle.open({ pid: child }, kind);
        } catch {
          // try the next
        }
      }
      throw e;
    }
  }

  /**
   * resize sets the terminal's window size (TIOCSWINSZ; the program gets SIGWINCH). Only for
   * `stdio: { tty: true }`. It runs the helper once with the terminal as stdin (Node has no
   * ioctl), so it costs a process start (~1 ms).
   */
  async resize(rows: number, cols: number): Promise<void> {
    if (!this.#tty) throw new TypeError('resize: the process has no tty (stdio: { tty: true })');
    for (const [v, what] of [[rows, 'rows'], [cols, 'cols']] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 0xffff) throw new TypeError(`resize: ${what} must be an integer in 1..65535`);
    }
    const child = cpSpawn(initHelperPath(), ['--winsize', String(rows), String(cols)], { stdio: [this.#tty.fd, 'ignore', 'pipe'], env: {} });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`resize: ${err.trim() || `helper exited ${code}`}`);
  }

  /** Kills the program (SIGKILL) unless it has exited, and waits until it is reaped. Idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#status) {
      this.kill('SIGKILL');
      // The helper dies with the program; if the program is not ours to kill any more, the
      // helper itself is.
      const timer = setTimeout(() => this.#helper.kill('SIGKILL'), 2000);
      await this.#exited;
      clearTimeout(timer);
    }
    this.#tty?.stream.destroy();
    this.#helper.stdin?.destroy();
  }
}
