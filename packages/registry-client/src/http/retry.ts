import { setTimeout as sleep } from 'node:timers/promises';

/**
 * RetryPolicy bounds how the client retries temporary failures (5xx, 429, 408, dropped
 * connections): at most `maxAttempts` tries of one request, and no wait that would end more
 * than `maxElapsedMs` after the first try began. Waits grow exponentially from `baseDelayMs`
 * (×2 per retry, capped at `maxDelayMs`) with jitter (each wait is 50–100 % of its step), or
 * follow the registry's `Retry-After` when it sends one (capped the same way).
 */
export interface RetryPolicy {
  /** Tries per request, the first included (default 5; 1 disables retries). */
  maxAttempts?: number;
  /** First backoff step (default 200 ms). */
  baseDelayMs?: number;
  /** Longest single wait (default 10 s). */
  maxDelayMs?: number;
  /** Give up when the next wait would end later than this after the first try (default 60 s). */
  maxElapsedMs?: number;
}

/** ResolvedRetryPolicy: a {@link RetryPolicy} with every field set. */
export type ResolvedRetryPolicy = Required<RetryPolicy>;

/** resolveRetryPolicy fills defaults and validates with precise TypeErrors. */
export function resolveRetryPolicy(p: RetryPolicy | undefined): ResolvedRetryPolicy {
  if (p !== undefined && (typeof p !== 'object' || p === null)) throw new TypeError('retry must be an object');
  const out: ResolvedRetryPolicy = {
    maxAttempts: p?.maxAttempts ?? 5,
    baseDelayMs: p?.baseDelayMs ?? 200,
    maxDelayMs: p?.maxDelayMs ?? 10_000,
    maxElapsedMs: p?.maxElapsedMs ?? 60_000,
  };
  if (!Number.isInteger(out.maxAttempts) || out.maxAttempts < 1) throw new TypeError('retry.maxAttempts must be an integer ≥ 1');
  for (const k of ['baseDelayMs', 'maxDelayMs', 'maxElapsedMs'] as const) {
    if (typeof out[k] !== 'number' || !Number.isFinite(out[k]) || out[k] < 0) throw new TypeError(`retry.${k} must be a non-negative number`);
  }
  return out;
}

/**
 * backoffDelay: the wait in ms before retry number `retry` (1 = the first retry) under
 * `policy`: `min(maxDelayMs, baseDelayMs × 2^(retry−1))`, times a jitter factor in [0.5, 1).
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const p = resolveRetryPolicy(policy);
  const step = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step * (0.5 + 0.5 * random()));
}

/**
 * Backoff tracks one request's retries: `next(retryAfterMs?)` returns the wait before the next
 * try, or undefined when the policy says stop (attempts or time used up).
 */
export class Backoff {
  readonly #policy: ResolvedRetryPolicy;
  readonly #start = Date.now();
  #attempt = 1;
  constructor(policy: ResolvedRetryPolicy) {
    this.#policy = policy;
  }
  /** The try about to be made or being made (1-based). */
  get attempt(): number {
    return this.#attempt;
  }
  next(retryAfterMs?: number): number | undefined {
    if (this.#attempt >= this.#policy.maxAttempts) return undefined;
    const wait = retryAfterMs !== undefined ? Math.min(retryAfterMs, this.#policy.maxDelayMs) : backoffDelay(this.#policy, this.#attempt);
    if (retryAfterMs !== undefined && retryAfterMs > this.#policy.maxDelayMs) return undefined; // the registry asks for longer than we wait
    if (Date.now() + wait - this.#start > this.#policy.maxElapsedMs) return undefined;
    this.#attempt++;
    return wait;
  }
}

/** wait sleeps `ms`, rejecting with the signal's reason when it aborts. */
export async function wait(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) {
    signal?.throwIfAborted();
    return;
  }
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}
