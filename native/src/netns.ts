import { binding } from './binding.js';

interface NetnsBinding {
  netnsCreate(o: { bindTo?: string }): number;
  netnsShareDir(dir: string): boolean;
  netnsUnmount(path: string): void;
}
const b = binding as NetnsBinding;

function path(v: unknown, fn: string, what: string): string {
  if (typeof v !== 'string' || v === '' || v.includes('\0')) throw new TypeError(`${fn}: ${what} must be a non-empty path`);
  return v;
}

/**
 * netnsCreate makes a new network namespace on a short-lived native thread (unshare
 * CLONE_NEWNET, then the thread exits: no Node thread changes namespace) and returns an
 * O_CLOEXEC fd of it, which the caller owns and must close. With `bindTo` (an existing empty
 * file, like /run/netns/NAME) the namespace is also bind-mounted there, as `ip netns add NAME`
 * does, and outlives the fd. Throws ErrnoError (`unshare`, `open`, `mount`).
 */
export function netnsCreate(opts: { bindTo?: string } = {}): number {
  const o: { bindTo?: string } = {};
  if (opts.bindTo !== undefined) o.bindTo = path(opts.bindTo, 'netnsCreate', 'bindTo');
  return b.netnsCreate(o);
}

/**
 * netnsShareDir makes `dir` a shared mount point (bind-mounting it onto itself first if it is not
 * one yet), as `ip netns add` does with /run/netns, so named namespaces mounted there propagate
 * to (and are unmounted from) mount namespaces cloned later. Idempotent; returns true when it
 * had to create the self bind mount.
 */
export function netnsShareDir(dir: string): boolean {
  return b.netnsShareDir(path(dir, 'netnsShareDir', 'dir'));
}

/** netnsUnmount detaches (MNT_DETACH) the bind mount keeping a named netns alive, as `ip netns delete`. */
export function netnsUnmount(file: string): void {
  b.netnsUnmount(path(file, 'netnsUnmount', 'path'));
}
