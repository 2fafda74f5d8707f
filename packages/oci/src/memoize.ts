/**
 * memoize wraps an async function of no arguments so that it runs at most once at a time and
 * its result is shared: every call before it settles, and every call after it fulfilled, gets
 * the same promise. After a rejection the next call runs it again (a failed fetch is retried, a
 * successful one never repeated). A synchronous throw becomes a rejection. This is how the lazy
 * accessors of `Image`, `ImageIndex` and `Layer` sources share one fetch or hash.
 */
export function memoize<T>(fn: () => Promise<T> | T): () => Promise<T> {
  let shared: Promise<T> | undefined;
  return () => {
    if (shared === undefined) {
      const attempt = (async () => fn())();
      shared = attempt;
      attempt.catch(() => {
        if (shared === attempt) shared = undefined;
      });
    }
    return shared;
  };
}
