import { Client, type ClientConfig } from 'pg';

export interface QueuedListener {
  /** Calls `wake` whenever any instance queues a delivery that is due now; returns an unsubscribe. */
  add(wake: () => void): () => void;
  close(): Promise<void>;
}

const CHANNEL = 'flowhook_queued';
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;

/**
 * One connection of its own that LISTENs on flowhook_queued (a trigger NOTIFYs it on every insert
 * of a delivery due now), so an idle worker starts at once instead of at its next poll. Polling
 * stays the fallback: when this connection drops it reconnects with backoff, and on reconnecting
 * wakes the workers once, since notifications sent meanwhile are lost.
 */
export function listenForQueued(
  config: ClientConfig,
  onProblem: (error: unknown) => void,
): QueuedListener {
  const wakers = new Set<() => void>();
  let client: Client | undefined;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let timer: NodeJS.Timeout | undefined;
  let started = false;

  const wakeAll = () => {
    for (const wake of wakers) wake();
  };

  const connect = async () => {
    if (closed) return;
    const next = new Client(config);
    client = next;
    let dropped = false;
    const drop = (error?: unknown) => {
      if (dropped) return;
      dropped = true;
      if (error !== undefined) onProblem(error);
      next.removeAllListeners('notification');
      void next.end().catch(() => undefined);
      if (client === next) client = undefined;
      if (!closed) {
        timer = setTimeout(() => void connect(), retryMs).unref();
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
    };
    next.on('error', drop);
    next.on('end', () => drop());
    next.on('notification', wakeAll);
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      if (closed) {
        await next.end();
        return;
      }
      retryMs = FIRST_RETRY_MS;
      wakeAll();
    } catch (error) {
      drop(error);
    }
  };

  return {
    add(wake) {
      wakers.add(wake);
      if (!started) {
        started = true;
        void connect();
      }
      return () => wakers.delete(wake);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      wakers.clear();
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
