import { SpanKind } from '@opentelemetry/api';
import { settledWithin } from '../background-work';
import type { FlowClient } from '../flows/create-flow-client';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { activeSpan, contextOf } from '../observability/trace-context';
import type { SecretRedactor } from '../redact/create-secret-redactor';
import type { Leases } from './lease';
import type { RetryPolicy } from './retry-policy';
import { runDelivery, traceContextOf, type RouteResult, type RunOutcome } from './run-delivery';
import { FINAL_STATES, type ClaimedDelivery, type DeliveryStore } from './types';

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
  readonly onFinished?: (record: ClaimedDelivery, results: readonly RouteResult[]) => Promise<void>;
  /** Attempts and outcomes counted (/metrics); none = not counted. */
  readonly metrics?: Metrics;
  /** Every configured secret, kept out of logged upstream messages. */
  readonly secrets?: () => SecretRedactor;
}

export interface DeliveryWorker {
  start(): void;
  /** A delivery was just queued: look now rather than at the next poll. */
  notify(): void;
  /**
   * Stops claiming; gives the deliveries claimed ahead back to the queue, and waits up to
   * `graceMs` for running deliveries. Unfinished ones keep their lease and are resumed after it
   * expires.
   */
  stop(graceMs: number): Promise<void>;
  /** Deliveries being run now (their flow calls in flight or being recorded). */
  readonly running: number;
  /** Deliveries claimed ahead, waiting for a free slot (not called yet). */
  readonly waiting: number;
}

/**
 * Executes queued deliveries: claims due ones from the store (atomically, so several processes
 * can share it), runs each with runDelivery, which records attempts and schedules retries. A
 * delivery that was running when a process died is claimed again once its lease expires.
 *
 * At most `concurrency` run at once (calls in flight or outcomes being recorded: what a crash
 * may run twice). Up to as many more are claimed ahead, so a slot that frees starts the next
 * delivery at once instead of waiting for a claim's commit and fsync (issue 15: at 8 slots the
 * worker was bound by that latency, not by its CPU). One claimed ahead has not been called: a
 * crash does not run it twice (its lease expires and any worker takes it). It was admitted by
 * the limits when claimed, so it waits at most `pollMs` (or a quarter of its lease): past that it
 * is queued again, not called, and the next claim decides afresh (a pause or an open circuit set
 * meanwhile holds it, and its lease never runs short). Each one given back halves how many are
 * claimed ahead (slow flows: claiming ahead only holds deliveries); each one that starts in time,
 * and each slot that frees with none claimed ahead for it, adds one again, up to `concurrency`.
 */
export function createDeliveryWorker(options: WorkerOptions): DeliveryWorker {
  const now = options.now ?? Date.now;
  const active = new Set<Promise<void>>();
  const leaseMs = options.leases.leaseMs;
  /** Claimed ahead, oldest due first, waiting for a slot; `at`: when the claim ended. */
  const ready: { readonly record: ClaimedDelivery; readonly at: number }[] = [];
  /** How many are claimed ahead at most now (see above). */
  let ahead = options.concurrency;
  /** How long one claimed ahead may wait for a slot before it is queued again. */
  const maxWaitMs = Math.min(options.pollMs, leaseMs / 4);
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
  const traced = (record: ClaimedDelivery) =>
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
      contextOf(traceContextOf(record)),
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

  const report = async ({ record: done, results, lost }: RunOutcome<ClaimedDelivery>) => {
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

  /**
   * Queued again at once, due now, without an attempt: one claimed ahead that waited too long,
   * or every one at a stop. Conditional on its lease: one another holder took meanwhile is left
   * alone. Through the store the worker was given, so its limits' slots are freed too.
   */
  const giveBack = (record: ClaimedDelivery) =>
    options.store
      .update(
        record.id,
        { state: 'queued', lease: null, nextAttemptAt: null },
        { owner: record.lease?.owner ?? '' },
      )
      .then(
        () => undefined,
        (error: unknown) =>
          options.logger.warn(
            { err: error, deliveryId: record.id },
            'a delivery claimed ahead could not be queued again; it runs when its lease expires',
          ),
      );

  /** Gives back what waited too long; halves `ahead` for each (never below 0). */
  const giveBackStale = () => {
    const at = now();
    while (ready.length > 0 && at - ready[0].at > maxWaitMs) {
      void giveBack(ready.shift()!.record);
      ahead = Math.floor(ahead / 2);
      options.logger.debug({ ahead }, 'a delivery claimed ahead waited too long; queued again');
    }
  };

  /** Starts what was claimed ahead while slots are free. */
  const startReady = () => {
    if (stopped) return;
    giveBackStale();
    while (active.size < options.concurrency && ready.length > 0) {
      run(ready.shift()!.record);
      // It started before it went stale: claiming ahead pays off.
      ahead = Math.min(options.concurrency, ahead + 1);
    }
  };

  const run = (record: ClaimedDelivery) => {
    const running = traced(record)
      .then(() => undefined)
      .catch((error: unknown) =>
        options.logger.error({ err: error, deliveryId: record.id }, 'delivery run failed'),
      )
      .finally(() => {
        active.delete(running);
        // A slot free and nothing claimed ahead for it: it waits for a claim; claim one more
        // ahead from now on (how `ahead` grows back after slow flows halved it).
        if (ready.length === 0) ahead = Math.min(options.concurrency, ahead + 1);
        // The next one claimed ahead starts now; the claim that refills them comes after.
        startReady();
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
      giveBackStale();
      // Enough for the free slots and the set claimed ahead.
      const wanted = options.concurrency - active.size + ahead - ready.length;
      const claimed =
        wanted > 0
          ? // A new hold per claim: a run of an earlier claim of the same delivery that outlived
            // its lease no longer matches, even in this process.
            await options.store.claimDue(now(), wanted, options.leases.newHolder(), leaseMs)
          : [];
      // Claimed just before a stop: given back by stop() with the others claimed ahead.
      const at = now();
      for (const record of claimed) ready.push({ record, at });
      startReady();
      // A full batch may mean more are due; otherwise wait for the next poll or notify().
      schedule(
        (claimed.length > 0 && claimed.length === wanted) || wokenDuringClaim ? 0 : options.pollMs,
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
      // Claimed ahead, never called: queued again at once (not after their leases expire), for
      // this process after a restart or another one now. Not given back if another holder took
      // it meanwhile (the write is conditional on the lease).
      const givenBack = Promise.all(ready.splice(0).map(({ record }) => giveBack(record)));
      await settledWithin([...active, givenBack], graceMs);
    },
    get running() {
      return active.size;
    },
    get waiting() {
      return ready.length;
    },
  };
}
