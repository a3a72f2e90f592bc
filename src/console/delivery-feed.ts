import type { DeliveryRecord, DeliveryStore } from '../deliveries/types';
import type { Logger } from '../logger';

export interface DeliveryFeed {
  /** Calls `listener` with each delivery that arrives or changes from now on; returns unsubscribe. */
  subscribe(listener: (record: DeliveryRecord) => void): () => void;
  /** Subscribers now. */
  size(): number;
  stop(): void;
}

/** How far back each poll looks: a delivery stored late (commit, another instance) is still seen. */
const WINDOW_MS = 60_000;
const PAGE = 200;

/**
 * New and changed deliveries for the console's live list, read from the store (not from this
 * process's pipeline), so deliveries received by another instance on the same store show too.
 * One poll serves every subscriber, and it runs only while someone is subscribed: the deliveries
 * received within the last minute are listed, and each one not seen yet, or whose `updatedAt`
 * moved, is passed on.
 */
export function createDeliveryFeed(
  store: DeliveryStore,
  logger: Logger,
  pollMs = 1000,
  now: () => number = Date.now,
): DeliveryFeed {
  const listeners = new Set<(record: DeliveryRecord) => void>();
  let seen = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      const since = now() - WINDOW_MS;
      const { items } = await store.list({ since, limit: PAGE });
      const next = new Map<string, number>();
      // Oldest first, so a listener that prepends ends with the newest on top.
      for (const record of items.reverse()) {
        next.set(record.id, record.updatedAt);
        if (seen.get(record.id) === record.updatedAt) continue;
        for (const listener of listeners) listener(record);
      }
      seen = next;
    } catch (error) {
      logger.warn({ err: error }, 'the live delivery list could not read the store');
    } finally {
      polling = false;
    }
  };

  const start = async () => {
    // What is already there when the first subscriber comes is not news.
    const { items } = await store.list({ since: now() - WINDOW_MS, limit: PAGE });
    seen = new Map(items.map((r) => [r.id, r.updatedAt]));
    if (listeners.size > 0 && timer === undefined) {
      timer = setInterval(() => void poll(), pollMs);
    }
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (listeners.size === 1 && timer === undefined) {
        start().catch((error: unknown) =>
          logger.warn({ err: error }, 'the live delivery list could not read the store'),
        );
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer !== undefined) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
    size: () => listeners.size,
    stop() {
      listeners.clear();
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
