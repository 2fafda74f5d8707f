/**
 * Human units as Docker prints and reads them (the go-units conventions): sizes in decimal
 * units with four significant digits (`1.24MB`, `3.584kB`), durations as `5 seconds`,
 * `About an hour`, `2 weeks`.
 */

const decimalUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

const binaryUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function customSize(bytes: number, base: number, units: readonly string[], precision: number): string {
  let v = bytes;
  let u = 0;
  while (v >= base && u < units.length - 1) {
    v /= base;
    u++;
  }
  // %.Ng: N significant digits, trailing zeros dropped.
  return `${Number(v.toPrecision(precision))}${units[u]}`;
}

/** humanSize formats bytes like `docker images`' SIZE column: `1.24MB`, `264MB`, `0B` (go-units HumanSize: decimal units, four significant digits). */
export function humanSize(bytes: number): string {
  return customSize(bytes, 1000, decimalUnits, 4);
}

/** humanSizeWithPrecision formats bytes in decimal units with `precision` significant digits, as `docker stats` NET I/O does with 3: `1.23kB` (go-units HumanSizeWithPrecision). */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  return customSize(bytes, 1000, decimalUnits, precision);
}

/** binarySize formats bytes as `docker stats` MEM USAGE does: `1.234MiB`, `1.944GiB` (go-units BytesSize). */
export function binarySize(bytes: number): string {
  return customSize(bytes, 1024, binaryUnits, 4);
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

/** shortId is Docker's 12-character ID (`sha256:` prefix removed). */
export function shortId(id: string): string {
  const c = id.indexOf(':');
  return (c >= 0 ? id.slice(c + 1) : id).slice(0, 12);
}

/** ellipsis shortens `s` to `max` characters with a trailing `…` (docker ps's COMMAND column). */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return `${chars.slice(0, max - 1).join('')}…`;
}
