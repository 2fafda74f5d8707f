/**
 * Limiter runs at most `limit` tasks at once; the rest wait in order. Used to bound parallel
 * blob transfers (sockets, memory, and the registry's patience).
 */
export class Limiter {
  readonly #limit: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('concurrency must be an integer ≥ 1');
    this.#limit = limit;
  }

  /** run waits for a free slot, runs `task`, and frees the slot when it settles. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#active >= this.#limit) {
      await new Promise<void>((resolve, reject) => {
        const go = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.#queue.indexOf(go);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal!.reason);
        };
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#queue.push(go);
      });
      // The finishing task handed its slot over: #active already counts this one.
    } else {
      this.#active++;
    }
    try {
      return await task();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
