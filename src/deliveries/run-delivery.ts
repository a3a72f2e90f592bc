import { SpanKind, context, trace } from '@opentelemetry/api';
import { FlowhookError } from '../errors';
import type { FlowClient } from '../flows/create-flow-client';
import { validTraceparent } from '../flows/valid-traceparent';
import type { Logger } from '../logger';
import { executeOutcome } from '../observability/execute-outcome';
import type { Metrics } from '../observability/metrics';
import { contextOf, failed, tracer, traceparentOf } from '../observability/trace-context';
import type { SecretRedactor } from '../redact/create-secret-redactor';
import {
  mayPass,
  retryAfterOf,
  retryDelay,
  upstreamStatus,
  type RetryPolicy,
} from './retry-policy';
import { StoreUnavailableError } from './store-unavailable-error';
import type {
  Attempt,
  ClaimedDelivery,
  DeliveryPatch,
  DeliveryRecord,
  DeliveryState,
  DeliveryStore,
  StoredAnswer,
  UpdateOptions,
  UpdateResult,
} from './types';

export interface RunDeps {
  readonly store: DeliveryStore;
  readonly client: FlowClient;
  readonly policy: RetryPolicy;
  readonly now: () => number;
  /** Each attempt counted and timed (flowhook_executions_total…); none = not counted. */
  readonly metrics?: Metrics;
  /** A failed attempt is logged at warn with the flow API's status and message. */
  readonly logger?: Logger;
  /** Every configured secret: kept out of the logged upstream message by value. */
  readonly secrets?: () => SecretRedactor;
}

/** What one route's execution did in this run (the live error, for the sync answer). */
export type RouteResult =
  | {
      readonly route: string;
      readonly flowId: string;
      readonly sessionId: string;
      readonly result: string;
    }
  | { readonly route: string; readonly flowId: string; readonly error: FlowhookError };

export interface RunOutcome<R extends ClaimedDelivery = DeliveryRecord> {
  /** The delivery after this run. */
  readonly record: R;
  readonly results: RouteResult[];
  /**
   * The lease was lost mid-run (it expired and another process took the delivery): this run's
   * attempts were recorded, its outcome was not; `record` is the delivery as stored now.
   */
  readonly lost: boolean;
}

export interface RunOptions<R extends ClaimedDelivery = DeliveryRecord> {
  /** fresh (replay): every route runs again, whatever earlier attempts did. */
  readonly fresh?: boolean;
  /** The routes came from a draft mapping (the console's "replay with this draft"): mark the attempts. */
  readonly draft?: boolean;
  /**
   * A sync sender is still waiting until then: a retry due before it stays with this process
   * (running, lease kept) instead of going to the worker.
   */
  readonly holdUntil?: number;
  readonly owner?: string;
  /** How long one attempt may take (the lease of a held retry reaches past holdUntil by this). */
  readonly leaseMs?: number;
  /**
   * The answer to store with the outcome (sync), in the same commit; not for a held retry, nor
   * when it returns undefined (the sender was already told something else).
   */
  readonly answerFor?: (record: R, results: RouteResult[]) => StoredAnswer | undefined;
}

/**
 * One attempt at a delivery: executes every chosen route that has neither succeeded nor failed
 * for good yet (a retried fan-out never runs a succeeded route twice), records each attempt, and
 * moves the delivery on: succeeded, failed (a refusal that will not change), queued again with a
 * retry time, or dead when attempts or age run out. The stored answer is left to the caller: it
 * is whatever the sender was actually told. The delivery may be a whole record (sync, replay) or
 * the worker's claim (ClaimedDelivery); the outcome's record is of the same kind.
 */
export async function runDelivery<R extends ClaimedDelivery>(
  record: R,
  deps: RunDeps,
  options: RunOptions<R> = {},
): Promise<RunOutcome<R>> {
  // Held while the calls run: renewed, so a slow flow is not taken over by another instance.
  const stopRenewing = keepLease(record, deps);
  try {
    return await runHeld(record, deps, options, stopRenewing);
  } finally {
    await stopRenewing();
  }
}

/**
 * The trace a delivery's attempts join: the one stored when it was received (the receive span's,
 * or with tracing off the sender's traceparent), or for a whole record stored before schema 6 its
 * traceparent header. A worker's claim has no headers: migration 9 (PostgreSQL: 4) stored the
 * header as the trace context of the deliveries still to run. Checked for form by contextOf.
 */
export function traceContextOf(
  record: ClaimedDelivery & { readonly request?: DeliveryRecord['request'] },
): string | undefined {
  return record.traceContext ?? validTraceparent(record.request?.headers.traceparent);
}

/** How long a run's writes are tried again while the store is unreachable. */
const OUTAGE_RETRY_MS = 10_000;

/**
 * store.update, tried again for a while when the store is unreachable (a database restart, a
 * connection killed): the flow has run, and giving up would leave the delivery to be run again
 * once its lease expires. A try whose answer was lost may have been written: before each new try
 * the stored attempts are checked, and a write found there is not made twice.
 */
async function updateDespiteOutage(
  store: DeliveryStore,
  id: string,
  patch: DeliveryPatch,
  options: UpdateOptions,
): Promise<UpdateResult> {
  const giveUpAt = Date.now() + OUTAGE_RETRY_MS;
  const mine = options.attempts ?? [];
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    try {
      return await store.update(id, patch, options);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || Date.now() + wait > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
      const current = mine.length > 0 ? await store.get(id).catch(() => undefined) : undefined;
      const landed = current && landedAttempts(current, mine);
      if (landed) {
        // Written by the try whose answer was lost. Applied if the patch is what is stored.
        const applied =
          (patch.state === undefined || current.state === patch.state) &&
          (options.owner === undefined ||
            patch.lease !== undefined ||
            current.lease?.owner === options.owner);
        return { applied, attempts: landed };
      }
    }
  }
}

/** `mine` as stored (numbered), when an earlier try wrote them; undefined when it did not. */
function landedAttempts(
  current: DeliveryRecord,
  mine: readonly Omit<Attempt, 'number'>[],
): Attempt[] | undefined {
  const found = mine.map((a) =>
    current.attempts.find(
      (x) => x.route === a.route && x.startedAt === a.startedAt && x.durationMs === a.durationMs,
    ),
  );
  return found.every((x) => x !== undefined) ? (found as Attempt[]) : undefined;
}

/** How often a held lease is renewed: every third of its length, at most once a second. */
const MIN_RENEW_MS = 1000;
/** setInterval's limit; a lease longer than 3 × this (a fake clock in a test) is not renewed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Renews the delivery's lease every third of its length while a run is in progress, to the same
 * length from now (never shorter than it is). Stops when the lease turns out lost (another holder
 * took it: the outcome will not apply) or when the returned function is called. A renewal that
 * fails (the store unreachable) is tried again at the next tick; if the store stays away longer
 * than the lease, another instance may take the delivery over, as after a crash.
 */
function keepLease(record: ClaimedDelivery, deps: RunDeps): () => Promise<void> {
  const lease = record.lease;
  const span = lease ? lease.until - deps.now() : 0;
  const every = Math.max(MIN_RENEW_MS, Math.floor(span / 3));
  if (!lease || span <= 0 || every > MAX_TIMER_MS) return async () => undefined;
  let until = lease.until;
  let inFlight: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    const next = deps.now() + span;
    if (next <= until) return;
    inFlight = deps.store.renewLease(record.id, lease.owner, next).then(
      (held) => {
        if (held) until = next;
        else clearInterval(timer);
      },
      () => undefined,
    );
  }, every);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await inFlight;
  };
}

async function runHeld<R extends ClaimedDelivery>(
  record: R,
  deps: RunDeps,
  options: RunOptions<R>,
  stopRenewing: () => Promise<void>,
): Promise<RunOutcome<R>> {
  const earlier = options.fresh ? [] : record.attempts;
  const pending = record.routes.filter((route) => status(counted(earlier, route)) === 'pending');
  // The attempts join the delivery's trace: the span running now (a sync request's receive span,
  // the worker's run), or else the context stored with the delivery (a replay).
  const parent =
    trace.getSpan(context.active()) !== undefined
      ? context.active()
      : contextOf(traceContextOf(record));
  // A fan-out records each route's attempt as soon as its call returns, so a crash while another
  // route is still running does not forget a success. A single route's attempt is committed
  // together with the outcome: one commit instead of two.
  const eager = pending.length > 1;
  // allSettled: when the store fails to record one route's attempt, the others' calls still end
  // (and are recorded where possible) before the run fails.
  const outcomes = await Promise.allSettled(
    pending.map(async (route) => {
      const startedAt = deps.now();
      let input: Omit<Attempt, 'number'>;
      let result: RouteResult;
      let retryAfter: number | undefined;
      const retry = counted(earlier, route).length > 0;
      // The HTTP client span of this call: the traceparent the flow API gets is this span's
      // (tracing off: the sender's, passed on as it came, stored with the delivery for retries).
      const span = tracer().startSpan(
        'flowhook.execute',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'flowhook.delivery_id': record.id,
            'flowhook.source': record.source,
            'flowhook.route': route.route,
            'flowhook.flow': route.flowId,
            'flowhook.attempt': counted(earlier, route).length + 1,
            'http.request.method': 'POST',
          },
        },
        parent,
      );
      try {
        const outcome = await deps.client.execute({
          orgId: route.orgId,
          flowId: route.flowId,
          variables: route.variables as Record<string, unknown>,
          traceparent: traceparentOf(span),
        });
        input = {
          startedAt,
          durationMs: deps.now() - startedAt,
          route: route.route,
          flowId: route.flowId,
          outcome: 'succeeded',
          httpStatus: 200,
          sessionId: outcome.sessionId,
          ...(options.draft ? { draft: true } : {}),
        };
        result = { route: route.route, flowId: route.flowId, ...outcome };
        observeAttempt(deps, record, route, span, retry, input, undefined);
      } catch (error) {
        const failure =
          error instanceof FlowhookError ? error : new FlowhookError('internal', 'internal error');
        const httpStatus = upstreamStatus(failure);
        input = {
          startedAt,
          durationMs: deps.now() - startedAt,
          route: route.route,
          flowId: route.flowId,
          outcome: 'failed',
          ...(httpStatus === undefined ? {} : { httpStatus }),
          error: { code: failure.code, message: failure.message },
          ...(options.draft ? { draft: true } : {}),
        };
        result = { route: route.route, flowId: route.flowId, error: failure };
        retryAfter = retryAfterOf(error);
        observeAttempt(deps, record, route, span, retry, input, failure);
      }
      const attempt = eager
        ? (await updateDespiteOutage(deps.store, record.id, {}, { attempts: [input] })).attempts[0]
        : undefined;
      return { input, attempt, result, retryAfter };
    }),
  );
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw failed.reason;
  const settled = outcomes.map((o) => (o as PromiseFulfilledResult<Settled>).value);
  const results = settled.map((x) => x.result);
  // New attempts count for every route whatever its fromAttempt (they are numbered after it);
  // the store numbers the ones not yet written when it writes them below.
  const made = settled.map((x) => x.attempt ?? { ...x.input, number: Infinity });
  // Each route's attempts that count: the earlier ones since its replay, and this run's.
  const perRoute = record.routes.map((route) => [
    ...counted(earlier, route),
    ...ofRoute(made, route),
  ]);
  const states = perRoute.map(status);
  const now = deps.now();
  let state: DeliveryState;
  let nextAttemptAt: number | null = null;
  if (states.every((s) => s === 'succeeded')) state = 'succeeded';
  else if (!states.includes('pending')) state = 'failed';
  else {
    const runs = Math.max(...perRoute.map((mine) => mine.length));
    // Age counts from the first attempt that counts (a replayed old delivery gets its own time).
    const since = Math.min(now, ...perRoute.flat().map((a) => a.startedAt));
    const deadAt = Math.max(record.receivedAt, since) + deps.policy.maxAgeMs;
    if (runs >= deps.policy.maxAttempts || now >= deadAt) state = 'dead';
    else {
      state = 'queued';
      const retryAfter = Math.max(0, ...settled.map((x) => x.retryAfter ?? 0));
      // Retry-After is the flow API's word, but not past the delivery's remaining age (issue 9,
      // item 12): a value of years would leave it queued, never due and never pruned, and a
      // 17-digit one is not even a whole number of ms. The last attempt then comes at the age
      // limit, and the delivery is dead after it if it fails again.
      const delay = retryDelay(deps.policy, runs, retryAfter || undefined);
      nextAttemptAt = Math.round(Math.min(now + delay, deadAt));
    }
  }
  const lastFailure = [...made].reverse().find((a) => a.outcome === 'failed');
  // A retry due before the sync sender's deadline stays with this holder instead of the worker.
  const retryWithinBudget =
    state === 'queued' &&
    nextAttemptAt !== null &&
    options.holdUntil !== undefined &&
    options.owner !== undefined &&
    nextAttemptAt < options.holdUntil;
  const patch: DeliveryPatch = {
    state: retryWithinBudget ? 'running' : state,
    nextAttemptAt,
    // A held retry may still be running when the sender's budget ends: its lease must outlast
    // the attempt, or the worker would claim it mid-call and run the flow twice.
    lease: retryWithinBudget
      ? {
          owner: options.owner as string,
          until: (options.holdUntil as number) + (options.leaseMs ?? 0),
        }
      : null,
    lastError: lastFailure?.error ?? (state === 'succeeded' ? null : record.lastError),
  };
  const outcome: R = {
    ...record,
    ...patch,
    attempts: record.attempts,
    updatedAt: now,
  };
  const answer = retryWithinBudget ? undefined : options.answerFor?.(outcome, results);
  // The attempts not yet written, the outcome and the sync answer: one write. Only while this
  // process still holds the delivery: after its lease expired mid-call and another took it over,
  // the attempts are recorded (they happened) but the state is the new holder's.
  // No renewal may land after the outcome (and shorten the lease a held retry writes).
  await stopRenewing();
  const unwritten = settled.filter((x) => x.attempt === undefined).map((x) => x.input);
  const written = await updateDespiteOutage(
    deps.store,
    record.id,
    answer ? { ...patch, answer } : patch,
    { attempts: unwritten, owner: record.lease?.owner },
  ).catch(async (error: unknown) => {
    // The attempts happened whatever the store thought of the outcome (issue 9, item 12):
    // recorded alone, they still count towards dead, so a delivery whose outcome cannot be
    // written is not claimed again for ever with no attempt on record.
    if (unwritten.length > 0) {
      await deps.store.update(record.id, {}, { attempts: unwritten }).catch(() => undefined);
    }
    throw error;
  });
  const numbered = [...settled.flatMap((x) => (x.attempt ? [x.attempt] : [])), ...written.attempts];
  numbered.sort((x, y) => x.number - y.number);
  if (!written.applied) {
    const current = await deps.store.get(record.id);
    return {
      record: current
        ? { ...record, ...current }
        : { ...record, attempts: [...record.attempts, ...numbered] },
      results,
      lost: true,
    };
  }
  if (state === 'succeeded' || state === 'failed' || state === 'dead') {
    deps.metrics?.delivery(record.source, state);
  }
  if (state === 'dead') {
    deps.logger?.error(
      {
        deliveryId: record.id,
        source: record.source,
        attempts: record.attempts.length + numbered.length,
        lastError: patch.lastError?.code,
      },
      'delivery dead: retries exhausted; it can be replayed',
    );
  }
  return {
    record: {
      ...outcome,
      ...(answer ? { answer } : {}),
      attempts: [...record.attempts, ...numbered],
    },
    results,
    lost: false,
  };
}

/** One route's call in this run. */
interface Settled {
  readonly input: Omit<Attempt, 'number'>;
  /** Set when it was written at once (fan-out). */
  readonly attempt: Attempt | undefined;
  readonly result: RouteResult;
  readonly retryAfter: number | undefined;
}

type RouteStatus = 'succeeded' | 'failed' | 'pending';

/** A route's attempts that count: its own, from its replay on (see `fromAttempt`). */
function counted(
  attempts: readonly Attempt[],
  route: ClaimedDelivery['routes'][number],
): Attempt[] {
  return attempts.filter((a) => a.route === route.route && a.number >= (route.fromAttempt ?? 0));
}

/** This run's attempts of a route (all count). */
function ofRoute(made: readonly Attempt[], route: ClaimedDelivery['routes'][number]): Attempt[] {
  return made.filter((a) => a.route === route.route);
}

/**
 * A route is done when it succeeded once, or when a failure will not pass by retrying (mayPass,
 * the one retry decision): a 4xx refusal, a 2xx without a sessionId (the flow may well have run;
 * running it again could run it twice), or an error that is not the flow API's.
 */
function status(mine: readonly Attempt[]): RouteStatus {
  if (mine.some((a) => a.outcome === 'succeeded')) return 'succeeded';
  const permanent = mine.some(
    (a) =>
      a.outcome === 'failed' &&
      !mayPass({ code: a.error?.code ?? 'internal', httpStatus: a.httpStatus }),
  );
  return permanent ? 'failed' : 'pending';
}

/**
 * One attempt as metrics, span and log see it: counted by outcome, timed, its span closed with
 * the outcome and sessionId; a failure logged at warn with the flow API's status and the start of
 * its message (the flow client cut it to 500 characters; every configured secret redacted here).
 */
function observeAttempt(
  deps: RunDeps,
  record: ClaimedDelivery,
  route: ClaimedDelivery['routes'][number],
  span: ReturnType<ReturnType<typeof tracer>['startSpan']>,
  retry: boolean,
  attempt: Omit<Attempt, 'number'>,
  failure: FlowhookError | undefined,
): void {
  const outcome = executeOutcome(failure);
  deps.metrics?.execution(
    { source: record.source, route: route.route, flow: route.flowId },
    outcome,
    attempt.durationMs / 1000,
    retry,
  );
  if (span.isRecording()) {
    span.setAttribute('flowhook.outcome', outcome);
    if (attempt.httpStatus !== undefined) {
      span.setAttribute('http.response.status_code', attempt.httpStatus);
    }
    if (attempt.sessionId !== undefined)
      span.setAttribute('flowhook.session_id', attempt.sessionId);
    if (failure) failed(span, failure);
  }
  if (failure && deps.logger) {
    const upstream = failure.details.upstream as { error?: unknown } | undefined;
    const message = typeof upstream?.error === 'string' ? upstream.error : undefined;
    const redactor = deps.secrets?.();
    deps.logger.warn(
      {
        deliveryId: record.id,
        source: record.source,
        route: route.route,
        flow: route.flowId,
        outcome,
        code: failure.code,
        ...(attempt.httpStatus === undefined ? {} : { upstreamStatus: attempt.httpStatus }),
        ...(message === undefined
          ? {}
          : {
              upstreamError: (redactor ? redactor.text(message) : message).slice(
                0,
                MAX_LOGGED_UPSTREAM,
              ),
            }),
      },
      'execute attempt failed',
    );
  }
  span.end();
}

/** The start of the flow API's error message that a log line keeps. */
const MAX_LOGGED_UPSTREAM = 500;
