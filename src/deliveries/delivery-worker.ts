import { SpanKind } from '@opentelemetry/api';
import { settledWithin } from '../background-work';
import type { FlowClient } from '../flows/create-flow-client';
import { validTraceparent } from '../flows/valid-traceparent';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { activeSpan, contextOf } from '../observability/trace-context';
import type { SecretRedactor } from '../redact/create-secret-redactor';
import type { Leases } from './lease';
import type { RetryPolicy } from './retry-policy';
import { runDelivery, type RouteResult } from './run-delivery';
import { FINAL_STATES, type DeliveryRecord, type DeliveryStore } from './types';

export interface WorkerOptions {
  readonly store: DeliveryStore;
  readonly client: FlowClient;
  readonly policy: RetryPolicy;
  readonly logger: Logger;
  /** Deliveries executed at once by this process. */
  readonly concurrency: number;
  /** How often the store is asked for due deliveries when nothing wakes the worker sooner. */
  readonly pollMs: number;
  /** This process's leases: a claimed delivery is its for `leaseMs`; after a crash, others take it. */
  readonly leases: Leases;
  readonly now?: () => number;
  /** A run ended the delivery (succeeded, failed, dead): its late answer, if one is pending. */
  readonly onFinished?: (record: DeliveryRecord, results: readonly RouteResult[]) => Promise<void>;
  /** Attempts and outcomes counted (/metrics); none = not counted. */
  readonly metrics?: Metrics;
  /** Every configured secret, kept out of logged upstream messages. */
  readonly secrets?: () => SecretRedactor;
}

export interface DeliveryWorker {
  start(): void;
  /** A delivery was just queued: look now rather than at the next poll. */
  notify(): void;
  /** Stops claiming; waits up to `graceMs` for running deliveries. Unfinished ones keep their lease and are resumed after it expires. */
  stop(graceMs: number): Promise<void>;
  readonly running: number;
}

/**
 * Executes queued deliveries: claims due ones from the store (atomically, so several processes
 * can share it), runs each with runDelivery, which records attempts and schedules retries. A
 * delivery that was running when a process died is claimed again once its lease expires.
 */
export function createDeliveryWorker(options: WorkerOptions): DeliveryWorker {
  const now = options.now ?? Date.now;
  const active = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  /** A claim in progress (stop waits for it: what it claims runs, within the grace). */
  let ticking: Promise<void> | undefined;
  /** notify() came while a claim was in progress: claim again as soon as it ends. */
  let wokenDuringClaim = false;
  /** The last claim failed (the store unreachable): the next failure is not logged as an error. */
  let failing = false;

  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(() => void tick(), ms).unref();
  };

  /**
   * One run, in a span of the delivery's trace (the context stored when it was received), so its
   * attempts and log lines join the sender's trace whichever process runs them and when.
   */
  const traced = (record: DeliveryRecord) =>
    activeSpan(
      'flowhook.deliver',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'flowhook.delivery_id': record.id,
          'flowhook.source': record.source,
          'flowhook.attempt': record.attempts.length + 1,
          ...(record.idempotencyKey === null
            ? {}
            : { 'flowhook.provider_delivery_id': record.idempotencyKey }),
        },
      },
      contextOf(record.traceContext ?? validTraceparent(record.request.headers.traceparent)),
      async (span) => {
        const outcome = await runDelivery(record, {
          store: options.store,
          client: options.client,
          policy: options.policy,
          now,
          ...(options.metrics ? { metrics: options.metrics } : {}),
          ...(options.secrets ? { secrets: options.secrets } : {}),
          logger: options.logger,
        });
        span.setAttribute('flowhook.outcome', outcome.record.state);
        await report(outcome);
        return outcome;
      },
    );

  const report = async ({
    record: done,
    results,
    lost,
  }: Awaited<ReturnType<typeof runDelivery>>) => {
    const line = {
      deliveryId: done.id,
      source: done.source,
      state: done.state,
      attempts: done.attempts.length,
    };
    if (lost)
      options.logger.warn(
        line,
        'delivery lease lost during the attempt: its attempts are recorded, the new holder decides its state',
      );
    else options.logger.info(line, 'delivery attempt finished');
    if (!lost && FINAL_STATES.includes(done.state)) await options.onFinished?.(done, results);
  };

  const run = (record: DeliveryRecord) => {
    const running = traced(record)
      .then(() => undefined)
      .catch((error: unknown) =>
        options.logger.error({ err: error, deliveryId: record.id }, 'delivery run failed'),
      )
      .finally(() => {
        active.delete(running);
        schedule(0);
      });
    active.add(running);
  };

  const tick = async () => {
    if (stopped) return;
    if (ticking) {
      // A wake-up during a claim: look again as soon as it ends, not at the next poll.
      wokenDuringClaim = true;
      return;
    }
    wokenDuringClaim = false;
    let done!: () => void;
    ticking = new Promise<void>((resolve) => (done = resolve));
    try {
      const free = options.concurrency - active.size;
      const claimed =
        free > 0
          ? // A new hold per claim: a run of an earlier claim of the same delivery that outlived
            // its lease no longer matches, even in this process.
            await options.store.claimDue(
              now(),
              free,
              options.leases.newHolder(),
              options.leases.leaseMs,
            )
          : [];
      // Claimed just before a stop: run them anyway (the stop waits for them within its grace).
      for (const record of claimed) run(record);
      // A full batch may mean more are due; otherwise wait for the next poll or notify().
      schedule(
        (claimed.length > 0 && claimed.length === free) || wokenDuringClaim ? 0 : options.pollMs,
      );
      if (failing) {
        failing = false;
        options.logger.info('claiming deliveries works again');
      }
    } catch (error) {
      // Once per outage (the database down for a minute is 240 polls), then quietly.
      if (!failing)
        options.logger.error({ err: error }, 'claiming deliveries failed; trying again');
      else options.logger.debug({ err: error }, 'claiming deliveries still fails');
      failing = true;
      schedule(options.pollMs);
    } finally {
      ticking = undefined;
      done();
    }
  };

  return {
    start() {
      stopped = false;
      schedule(0);
    },
    notify() {
      if (!stopped) schedule(0);
    },
    async stop(graceMs) {
      stopped = true;
      clearTimeout(timer);
      await ticking;
      await settledWithin([...active], graceMs);
    },
    get running() {
      return active.size;
    },
  };
}
