/**
 * allOrNothing runs tasks together under one AbortSignal linked to `parent`: the first failure
 * aborts the others, waits until every task has settled (no stray transfer keeps writing after
 * the call returned) and rejects with that first failure. An abort of `parent` rejects with its
 * reason.
 */
export async function allOrNothing<T>(tasks: ((signal: AbortSignal) => Promise<T>)[], parent?: AbortSignal): Promise<T[]> {
  parent?.throwIfAborted();
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(parent!.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  let first: { error: unknown } | undefined;
  try {
    const settled = await Promise.allSettled(
      tasks.map(async (t) => {
        try {
          return await t(ac.signal);
        } catch (error) {
          if (first === undefined) {
            first = { error: parent?.aborted ? (parent.reason ?? error) : error };
            ac.abort(first.error);
          }
          throw error;
        }
      }),
    );
    if (first !== undefined) throw first.error;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  } finally {
    parent?.removeEventListener('abort', onAbort);
  }
}
