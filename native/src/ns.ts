import { constants as osConstants } from 'node:os';
import { CLONE } from './constants.js';
import { Fd, describe, fdNumber, type FdLike } from './fd.js';
import { native } from './native.js';
import { flags as flagsArg, int, str } from './validate.js';

const ALL_NS = CLONE.NEWNS | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWUSER | CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWCGROUP | CLONE.NEWTIME;

/**
 * unshare moves the CALLING THREAD (Node's main thread) into new namespaces: `CLONE.*` bits.
 * Caveats, from the kernel: CLONE.NEWUSER fails with EINVAL in any multithreaded process (Node
 * always is); the other namespaces change for the main thread only, while libuv's pool threads
 * (fs.promises, dns.lookup, zlib) keep the old ones — so after `unshare(CLONE.NEWNS)` use sync fs
 * calls, and prefer doing namespace work in a child process (`stratum-init`, `unshare(1)`).
 * CLONE.NEWPID/NEWTIME affect children only. Like `unshare(1)` without the exec.
 */
export function unshare(flags: number): void {
  const f = flagsArg(flags, 'unshare');
  if (f & ~ALL_NS) throw new TypeError('unshare: flags may only contain CLONE.NEW* namespace bits');
  native.unshare(f);
}

/**
 * setns moves the calling thread into the namespace `fd` refers to (an open /proc/PID/ns/* file or a
 * pidfd); `nstype` (a CLONE.* bit, 0 = any) makes the kernel check its kind. Joining a mount or
 * user namespace from Node fails with EINVAL (the process is multithreaded and shares its fs
 * state); network, UTS, IPC and cgroup namespaces can be joined, for the main thread only (see
 * {@link unshare}). `nsenter(1)` without the exec.
 */
export function setns(fd: FdLike, nstype = 0): void {
  const t = flagsArg(nstype, 'setns', 'nstype');
  if (t & ~ALL_NS) throw new TypeError('setns: nstype must be 0 or CLONE.NEW* bits');
  native.setns(fdNumber(fd, 'setns'), t);
}

/** sethostname sets the hostname of the caller's UTS namespace (call after `unshare(CLONE.NEWUTS)` unless you mean the host's). `hostname NAME`. */
export function sethostname(name: string): void {
  const n = str(name, 'sethostname', 'name');
  if (Buffer.byteLength(n) > 64) throw new TypeError('sethostname: name must be at most 64 bytes');
  native.sethostname(n);
}

/** pidfdOpen returns a pidfd for process `pid` (Linux ≥ 5.3): it keeps naming that process even after its pid is reused. pidfd_open(2). */
export function pidfdOpen(pid: number): Fd {
  return new Fd(native.pidfdOpen(int(pid, 'pidfdOpen', 'pid', 1, 0x7fffffff), 0));
}

/**
 * pidfdSendSignal sends `signal` (a number or a name like 'SIGTERM') to the process of a pidfd;
 * ESRCH once it has exited, never a recycled pid. pidfd_send_signal(2), `kill -s SIG`.
 */
export function pidfdSendSignal(fd: FdLike, signal: number | NodeJS.Signals): void {
  let s: number | undefined;
  if (typeof signal === 'string') s = (osConstants.signals as Record<string, number>)[signal];
  else if (typeof signal === 'number' && Number.isInteger(signal) && signal >= 0 && signal <= 64) s = signal;
  if (s === undefined) throw new TypeError(`pidfdSendSignal: unknown signal ${describe(signal)}`);
  native.pidfdSendSignal(fdNumber(fd, 'pidfdSendSignal'), s);
}
