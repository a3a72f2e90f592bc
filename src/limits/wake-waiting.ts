import type { DeliveryStore } from '../deliveries/types';
import { flowKey } from './flow-key';
import { PAUSED_RECHECK_MS } from './limit-timings';
import type { PauseKind } from './types';

/** Queued deliveries looked at per resume at most (pages of 500). */
const MAX_LOOKED_AT = 20_000;

/**
 * After a resume: the queued deliveries of the source (or flow) that were sent back to wait while
 * it was paused are due now instead of at their next look. Only those due within the pause's
 * recheck time are moved: a retry that waits for its backoff keeps its time. Returns how many.
 */
export async function wakeWaiting(
  store: DeliveryStore,
  kind: PauseKind,
  name: string,
  now: number,
): Promise<number> {
  let woken = 0;
  let cursor: string | undefined;
  for (let looked = 0; looked < MAX_LOOKED_AT; looked += 500) {
    const page = await store.list({
      state: 'queued',
      ...(kind === 'source' ? { source: name } : {}),
      limit: 500,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const waiting = page.items.filter(
      (record) =>
        record.nextAttemptAt !== null &&
        record.nextAttemptAt > now &&
        record.nextAttemptAt <= now + PAUSED_RECHECK_MS &&
        (kind === 'source' || record.routes.some((r) => flowKey(r.orgId, r.flowId) === name)),
    );
    await Promise.all(waiting.map((record) => store.update(record.id, { nextAttemptAt: now })));
    woken += waiting.length;
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  return woken;
}
