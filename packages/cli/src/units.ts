/**
 * Human units as Docker prints and reads them (the go-units conventions): sizes in decimal
 * units with four significant digits (`1.24MB`, `3.584kB`), durations as `5 seconds`,
 * `About an hour`, `2 weeks`, and byte quantities on the command line (`-m 64m`, binary units).
 */
import { UsageError } from './errors.js';

const decimalUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** humanSize formats bytes like `docker images`' SIZE column: `1.24MB`, `264MB`, `0B`. */
export function humanSize(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < decimalUnits.length - 1) {
    v /= 1000;
    u++;
  }
  // %.4g: four significant digits, trailing zeros dropped.
  return `${Number(v.toPrecision(4))}${decimalUnits[u]}`;
}

/**
 * humanDuration says how long `ms` is the way `docker ps`/`images` do ("Less than a second",
 * "About a minute", "3 hours", "2 weeks", "5 months", "2 years").
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** since formats a past time as `docker images` does: `2 weeks ago`; unknown times give `N/A`. */
export function since(time: string | number | Date | undefined, now = Date.now()): string {
  if (time === undefined || time === '') return 'N/A';
  const t = new Date(time).getTime();
  if (Number.isNaN(t) || t <= 0) return 'N/A';
  return `${humanDuration(Math.max(0, now - t))} ago`;
}

const binaryUnits: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * parseBytes reads a byte quantity the way `docker run -m` does: a number with an optional
 * binary unit `b k m g t p` (optionally followed by `b`/`ib`): `64m`, `1.5g`, `512KiB`, `1048576`.
 * Throws {@link UsageError} naming the flag when it is not one.
 */
export function parseBytes(input: string, flag: string, command: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtpb]?)(?:i?b)?\s*$/i.exec(input);
  if (m === null) throw new UsageError(command, `invalid argument ${JSON.stringify(input)} for "${flag}" flag: invalid size: '${input}'`);
  return Math.floor(Number(m[1]) * binaryUnits[m[2]!.toLowerCase()]!);
}

/** parseCpus reads `--cpus 1.5` (a positive decimal number of CPUs). */
export function parseCpus(input: string, command: string): number {
  const n = Number(input);
  if (!/^\s*\d*\.?\d+\s*$/.test(input) || !Number.isFinite(n) || n < 0) throw new UsageError(command, `invalid argument ${JSON.stringify(input)} for "--cpus" flag: failed to parse ${input} as a rational number`);
  return n;
}

/** shortId is Docker's 12-character ID (`sha256:` prefix removed). */
export function shortId(id: string): string {
  return stripAlgo(id).slice(0, 12);
}

/** stripAlgo drops a `sha256:` prefix. */
export function stripAlgo(id: string): string {
  const c = id.indexOf(':');
  return c >= 0 ? id.slice(c + 1) : id;
}

/** ellipsis shortens `s` to `max` characters with a trailing `…` (docker ps's COMMAND column). */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return `${chars.slice(0, max - 1).join('')}…`;
}
