import { closeSync, constants, openSync, readSync } from 'node:fs';

/**
 * kernelLogSince returns the kernel log lines starting with one of `prefixes` (`overlayfs:`) logged
 * at or after `sinceNs` (process.hrtime.bigint(), CLOCK_MONOTONIC, which /dev/kmsg's timestamps
 * follow), joined with "; ". Best effort: undefined when /dev/kmsg cannot be read (not root,
 * dmesg_restrict) or holds nothing matching. Another process's message of the same moment can
 * slip in; it is a diagnostic, never a decision.
 */
export function kernelLogSince(prefixes: readonly string[], sinceNs: bigint): string | undefined {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  const since = sinceNs / 1000n;
  const out: string[] = [];
  const buf = Buffer.allocUnsafe(8192);
  try {
    for (let i = 0; i < 100_000; i++) {
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        // EAGAIN: the end; EPIPE: a record was overwritten while reading, go on.
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break;
      }
      if (n <= 0) break;
      const rec = buf.toString('utf8', 0, n);
      const semi = rec.indexOf(';');
      const head = rec.slice(0, semi).split(',');
      const msg = rec.slice(semi + 1).split('\n')[0]!;
      if (head.length >= 3 && /^\d+$/.test(head[2]!) && BigInt(head[2]!) >= since && prefixes.some((p) => msg.startsWith(p))) out.push(msg);
    }
  } finally {
    closeSync(fd);
  }
  return out.length ? out.join('; ') : undefined;
}
