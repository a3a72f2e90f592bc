/**
 * Gathers the calls made during one turn of the event loop and hands them to `run` as one batch,
 * once the turn's I/O callbacks are done (setImmediate). Under load, the requests whose bodies
 * arrived in the same turn then share one database round trip (and one commit) instead of one
 * each; a lone call waits only for the end of its turn. `run` settles each item in order (one
 * item failing fails alone), or rejects them all.
 */
export function batchPerTurn<I, O>(
  run: (items: I[]) => Promise<PromiseSettledResult<O>[]>,
  max: number,
): (item: I) => Promise<O> {
  let pending: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];

  function flush(): void {
    const batch = pending.slice(0, max);
    pending = pending.slice(batch.length);
    if (pending.length > 0) setImmediate(flush);
    run(batch.map((p) => p.item)).then(
      (results) =>
        batch.forEach((p, i) => {
          const result = results[i];
          if (result.status === 'fulfilled') p.resolve(result.value);
          else p.reject(result.reason);
        }),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ item, resolve, reject });
    });
}
