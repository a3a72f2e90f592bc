/**
 * A read for a scrape (a store query), bounded in cost: its result is kept for `maxAgeMs`, so
 * several scrapers in a row cost one query; one read runs at a time; a scrape waits for it at
 * most `timeoutMs` and otherwise reports the last value it had (undefined before the first).
 * A slow or unreachable store therefore never holds a scrape, nor piles up queries behind it.
 */
export function cachedRead<T>(
  read: () => Promise<T>,
  options: { maxAgeMs: number; timeoutMs: number; now?: () => number },
): () => Promise<{ value: T | undefined; ok: boolean }> {
  const now = options.now ?? Date.now;
  let last: { value: T; at: number } | undefined;
  let ok = false;
  let inFlight: Promise<void> | undefined;
  return async () => {
    if (last !== undefined && ok && now() - last.at < options.maxAgeMs) {
      return { value: last.value, ok };
    }
    inFlight ??= read()
      .then(
        (value) => {
          last = { value, at: now() };
          ok = true;
        },
        () => {
          ok = false;
        },
      )
      .finally(() => (inFlight = undefined));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
      timer.unref();
    });
    const result = await Promise.race([inFlight, timedOut]).finally(() => clearTimeout(timer));
    if (result === 'timeout') return { value: last?.value, ok: false };
    return { value: last?.value, ok };
  };
}
