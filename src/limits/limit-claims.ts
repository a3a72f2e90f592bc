import type { ClaimedDelivery, DeliveryStore } from '../deliveries/types';
import type { FlowLimiter } from './create-flow-limiter';

export interface LimitClaimsOptions {
  /** Wakes the worker when the first delivery sent back to wait comes due (its notify). */
  readonly wake?: () => void;
  readonly now?: () => number;
}

/** Deliveries looked at per claim once a flow had no room, so the other flows are reached. */
const CLAIM_BATCH = 64;
/** Batches per claim at most (a claim stays short however long the backlog). */
const MAX_ROUNDS = 4;

/**
 * The delivery store as the worker sees it once limits apply: `claimDue` hands out only
 * deliveries whose flows have room now (a slot and a token of each taken), and sends the others
 * back to the queue, unchanged but for when they are due next, without an attempt. So a flow that
 * is full, throttled, paused or whose circuit is open never holds a worker, and the deliveries of
 * the other flows behind it are reached in the same claim. A run's last write (the delivery
 * leaves `running`) gives its slots back; a renewed lease keeps them.
 */
export function limitClaims(
  store: DeliveryStore,
  limiter: FlowLimiter,
  options: LimitClaimsOptions = {},
): DeliveryStore {
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  const wakeAt = (at: number) => {
    if (!options.wake || at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(
      () => {
        timerAt = Infinity;
        options.wake?.();
      },
      Math.max(0, at - now()),
    ).unref();
  };

  return {
    ...bind(store),
    async claimDue(at, limit, owner, leaseMs) {
      const granted: ClaimedDelivery[] = [];
      for (let round = 0; round < MAX_ROUNDS && granted.length < limit; round++) {
        // First what the free workers can run: most of the time every flow has room, and a
        // wider look would read a batch and write most of it back for each delivery run (issue
        // 15: 64 read and 63 written per run capped the worker at ~260 deliveries/s). Wider
        // only once a flow without room was met, so the other flows behind it are reached.
        const size =
          round === 0 ? limit - granted.length : Math.max(limit - granted.length, CLAIM_BATCH);
        const batch = await store.claimDue(at, size, owner, leaseMs);
        const back: Promise<unknown>[] = [];
        for (const record of batch) {
          if (granted.length >= limit) {
            // Claimed for a look but no worker is free: due again at once, first in line.
            back.push(store.update(record.id, { state: 'queued', lease: null }, { owner }));
            continue;
          }
          const decision = await limiter.acquire(record, owner, at + leaseMs);
          if (decision.granted) {
            granted.push(record);
            continue;
          }
          wakeAt(decision.retryAt);
          back.push(
            store.update(
              record.id,
              { state: 'queued', lease: null, nextAttemptAt: decision.retryAt },
              { owner },
            ),
          );
        }
        // One commit for the batch sent back (the store groups writes of one turn).
        await Promise.all(back);
        if (batch.length < size) break;
      }
      return granted;
    },
    async update(id, patch, updateOptions = {}) {
      const result = await store.update(id, patch, updateOptions);
      // The run's outcome was written (or refused because another took the delivery over): either
      // way this holder's run is over and its slots are free.
      if (
        updateOptions.owner !== undefined &&
        patch.state !== undefined &&
        patch.state !== 'running'
      )
        await limiter.release(id, updateOptions.owner);
      return result;
    },
    async renewLease(id, owner, until) {
      const kept = await store.renewLease(id, owner, until);
      if (kept) await limiter.renew(id, owner, until);
      return kept;
    },
    async close() {
      clearTimeout(timer);
      await store.close();
    },
  };
}

/** The store's methods bound to it, so the decorator can pass the ones it does not change. */
function bind(store: DeliveryStore): DeliveryStore {
  return {
    create: store.create.bind(store),
    update: store.update.bind(store),
    get: store.get.bind(store),
    list: store.list.bind(store),
    claimDue: store.claimDue.bind(store),
    claim: store.claim.bind(store),
    renewLease: store.renewLease.bind(store),
    prune: store.prune.bind(store),
    counts: store.counts.bind(store),
    oldestDueAt: store.oldestDueAt.bind(store),
    status: store.status.bind(store),
    close: store.close.bind(store),
  };
}
