/**
 * RateLimit is what a registry said about its pull rate limit in response headers (Docker Hub:
 * `ratelimit-limit: 100;w=21600`, `ratelimit-remaining: 76;w=21600`,
 * `docker-ratelimit-source: <ip or account>`; the IETF draft's `ratelimit-reset` too).
 */
export interface RateLimit {
  /** The registry host that sent it. */
  registry: string;
  /** Requests allowed per window. */
  limit?: number;
  /** Requests left in the current window. */
  remaining?: number;
  /** Length of the window in seconds (`w=`). */
  windowSeconds?: number;
  /** Seconds until the window resets (`ratelimit-reset`). */
  resetSeconds?: number;
  /** Who the limit is counted against (`docker-ratelimit-source`). */
  source?: string;
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseQuota(value: string | undefined): { n?: number; w?: number } {
  if (value === undefined) return {};
  const [first, ...params] = value.split(';');
  const out: { n?: number; w?: number } = {};
  const n = Number.parseInt(first!.trim(), 10);
  if (Number.isFinite(n) && n >= 0) out.n = n;
  for (const p of params) {
    const m = /^\s*w\s*=\s*(\d+)\s*$/.exec(p);
    if (m) out.w = Number(m[1]);
  }
  return out;
}

/**
 * parseRateLimit reads rate-limit headers (lowercase names, as undici gives them) and returns
 * undefined when there are none. Pure; tolerant of malformed values (they are left out).
 */
export function parseRateLimit(registry: string, headers: Record<string, string | string[] | undefined>): RateLimit | undefined {
  const limit = parseQuota(header(headers, 'ratelimit-limit') ?? header(headers, 'x-ratelimit-limit'));
  const remaining = parseQuota(header(headers, 'ratelimit-remaining') ?? header(headers, 'x-ratelimit-remaining'));
  const reset = header(headers, 'ratelimit-reset') ?? header(headers, 'x-ratelimit-reset');
  const source = header(headers, 'docker-ratelimit-source');
  if (limit.n === undefined && remaining.n === undefined && reset === undefined) return undefined;
  const out: RateLimit = { registry };
  if (limit.n !== undefined) out.limit = limit.n;
  if (remaining.n !== undefined) out.remaining = remaining.n;
  const w = limit.w ?? remaining.w;
  if (w !== undefined) out.windowSeconds = w;
  if (reset !== undefined && /^\d+$/.test(reset.trim())) out.resetSeconds = Number(reset.trim());
  if (source !== undefined) out.source = source;
  return out;
}

/**
 * parseRetryAfter turns a `Retry-After` value (seconds, or an HTTP date) into milliseconds from
 * `now`; undefined when absent or unreadable. Never negative.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}
