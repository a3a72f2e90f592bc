/**
 * Work that goes on after its request was answered (a sync delivery that outlived replyWithin):
 * a stop waits for it, within a grace period, before the store is closed under it.
 */
export interface BackgroundWork {
  /** Keeps `work` until it settles (its errors are its own to handle). */
  track(work: Promise<unknown>): void;
  /** Waits until nothing is tracked (what is tracked meanwhile included), at most `graceMs`. */
  drain(graceMs: number): Promise<void>;
  readonly size: number;
}

export function createBackgroundWork(): BackgroundWork {
  const pending = new Set<Promise<unknown>>();
  return {
    track(work) {
      const settled = work.then(
        () => undefined,
        () => undefined,
      );
      pending.add(settled);
      void settled.then(() => pending.delete(settled));
    },
    async drain(graceMs) {
      // Work tracked while this waits is waited for too (issue 9, item 11): a snapshot would let
      // the store close under a run that started being tracked a moment later.
      const end = Date.now() + graceMs;
      while (pending.size > 0 && Date.now() < end) {
        await settledWithin([...pending], end - Date.now());
      }
    },
    get size() {
      return pending.size;
    },
  };
}

/** Waits until every one of `work` settled, or `graceMs` passed, whichever comes first. */
export async function settledWithin(work: readonly Promise<unknown>[], graceMs: number) {
  if (work.length === 0) return;
  let expired: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(work),
    new Promise((resolve) => (expired = setTimeout(resolve, graceMs))),
  ]);
  clearTimeout(expired);
}
