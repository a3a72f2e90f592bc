import { randomUUID } from 'node:crypto';
import { parseBody } from '../body/parse-body';
import { runDelivery, type RouteResult } from '../deliveries/run-delivery';
import type { RetryPolicy } from '../deliveries/retry-policy';
import type {
  DeliveryRecord,
  DeliveryState,
  DeliveryStore,
  StoredAnswer,
} from '../deliveries/types';
import { FlowhookError } from '../errors';
import type { FlowClient } from '../flows/create-flow-client';
import { describeExecute, type ExecuteRequest } from '../flows/execute-request';
import type { CompiledRoute, CompiledSource, MappingSet } from '../mappings/types';
import type { RequestView } from '../routing/request-view';
import type { HeaderMap } from '../verify/types';
import { validTraceparent } from '../flows/valid-traceparent';
import { toStoredRequest } from './stored-request';
import { holdOf } from '../deliveries/lease';

/** A request to POST /hooks/:source, as the HTTP layer hands it over. */
export interface InboundRequest {
  readonly sourceName: string;
  readonly rawBody: Buffer;
  readonly headers: HeaderMap;
  readonly method: string;
  /** The full URL the sender used (URL-signing presets). */
  readonly url: string;
  /** Path and query as received (stored with the delivery, secrets redacted). */
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
}

export interface PipelineDeps {
  readonly mappings: () => MappingSet;
  /** Undefined = dry-run: everything but the execute call. */
  readonly flowClient: FlowClient | undefined;
  readonly defaultOrgId: string | undefined;
  readonly now: () => number;
  readonly store: DeliveryStore;
  readonly policy: RetryPolicy;
  readonly idempotencyWindowMs: number;
  /** This process, in delivery leases. */
  readonly owner: string;
  /** How long a sync delivery is held while it runs; after a crash the worker takes it back. */
  readonly leaseMs: number;
  /** How long a repeat waits for the first request's answer before it is told the state. */
  readonly replayWaitMs: number;
  /** A delivery was queued: wake the worker. */
  readonly onQueued: () => void;
  /**
   * The store refused a write after the delivery was accepted (the outcome, the answer): logged.
   * The sender is still answered (it must not send an accepted delivery again); the delivery's
   * lease expires and the worker resumes it.
   */
  readonly onStoreFailure: (deliveryId: string, error: unknown) => void;
  /** A sync run that goes on after its sender was answered: shutdown waits for it. */
  readonly track: (work: Promise<unknown>) => void;
}

/** What the request log line says; filled in as the request moves through the stages. */
export interface DeliveryTrace {
  deliveryId?: string;
  providerDeliveryId?: string;
  source?: string;
  mappingVersion?: string;
  secretIndex?: number | null;
  mode?: 'sync' | 'async';
  state?: DeliveryState;
  route?: string;
  flow?: string;
  sessionId?: string;
  dryRun?: boolean;
  replayed?: boolean;
}

export interface DeliveryAnswer {
  readonly status: number;
  /** JSON, or plain text when `text` is set (a handshake that expects it). */
  readonly body: unknown;
  readonly text?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * receive → verify → parse → dedupe → match → extract → execute → answer/record. Every verified
 * request becomes a stored delivery before anything runs; a repeat (same idempotency key within
 * the window) gets the first answer again and runs nothing. Throws FlowhookError for a refusal
 * before verification (404, 503, 401); later refusals are answered from the stored delivery.
 */
export async function handleDelivery(
  request: InboundRequest,
  deps: PipelineDeps,
  trace: DeliveryTrace,
): Promise<DeliveryAnswer> {
  // One snapshot for the whole request: a reload mid-request does not change its mapping.
  const source = findSource(deps.mappings(), request.sourceName);
  trace.source = source.name;
  trace.mappingVersion = source.version;
  trace.mode = source.mode;

  const verdict = source.verify({
    rawBody: request.rawBody,
    headers: request.headers,
    method: request.method,
    url: request.url,
    query: request.query,
    now: deps.now(),
  });
  if (!verdict.ok) throw new FlowhookError('invalid_signature', verdict.reason);
  // From here on the request is a delivery: it has an id, is stored, and answers carry the id.
  const deliveryId = randomUUID();
  trace.deliveryId = deliveryId;
  trace.secretIndex = verdict.secretIndex;

  let view: RequestView | undefined;
  let decision: Decision;
  try {
    view = {
      body: parseBody(request.rawBody, request.headers['content-type'], source.jsonFields),
      headers: request.headers,
      query: request.query,
    };
    trace.providerDeliveryId = verdict.deliveryId ?? source.bodyDeliveryId?.(view.body);
    const handshake = source.handshake?.(view.body, view.headers);
    if (handshake !== undefined) return handshake; // a set-up check, not an event: not stored
    const plan = planDelivery(
      source,
      view,
      deps.defaultOrgId,
      validTraceparent(request.headers.traceparent),
    );
    decision = plan.length === 0 ? { kind: 'ignored' } : { kind: 'run', plan };
  } catch (error) {
    if (!(error instanceof FlowhookError)) throw error;
    decision = { kind: 'refused', error };
  }
  const key =
    (view && source.idempotencyKey?.(view)) ??
    trace.providerDeliveryId ??
    verdict.deliveryId ??
    null;
  const dryRun = deps.flowClient === undefined;
  const initial = initialState(decision, source, deliveryId, dryRun);
  const now = deps.now();
  // One write: the delivery, and its answer when it is already known (async, ignored, refused).
  const created = await deps.store
    .create(
      {
        id: deliveryId,
        source: source.name,
        idempotencyKey: key,
        mode: source.mode,
        state: initial.state,
        receivedAt: now,
        mappingVersion: source.version,
        request: toStoredRequest(request, source.verifySpec?.secrets ?? []),
        routes:
          decision.kind === 'run'
            ? decision.plan.map((step) => ({
                route: step.route.name,
                flowId: step.route.flowId,
                orgId: step.request.orgId,
                variables: step.request.variables,
              }))
            : [],
        // Held under a name of its own (see holdOf) while this request runs it.
        lease:
          initial.state === 'running'
            ? { owner: holdOf(deps.owner), until: now + deps.leaseMs }
            : null,
        nextAttemptAt: null,
        answer: initial.answer,
      },
      deps.idempotencyWindowMs,
    )
    .catch((error: unknown) => {
      // Nothing was accepted: 503, so the sender sends it again later.
      throw new FlowhookError(
        'store_unavailable',
        'the delivery store failed to record the delivery; nothing was accepted, send it again',
        {},
        error,
      );
    });
  if (!created.created) {
    trace.replayed = true;
    trace.deliveryId = created.existing.id;
    return replay(created.existing, deps);
  }
  if (decision.kind === 'run') {
    trace.route = decision.plan.map((step) => step.route.name).join(',');
    trace.flow = decision.plan.map((step) => step.route.flowId).join(',');
  }
  if (initial.answer !== null) {
    trace.state = initial.state;
    if (initial.state === 'queued') deps.onQueued();
    if (decision.kind === 'refused') throw decision.error;
    trace.dryRun = dryRun && decision.kind === 'run' ? true : undefined;
    return initial.answer;
  }
  // sync: run now while the sender waits, retrying inside replyWithin.
  const { answer, stored } = await runWithinBudget(
    created.record,
    source,
    deps,
    trace,
    now + source.replyWithinMs,
  );
  if (!stored) {
    // Accepted already: a failure here is logged, and the sender still gets its answer (a 503
    // would make it send the delivery again, and without a key that would run it twice).
    await deps.store
      .update(deliveryId, { answer })
      .catch((error: unknown) => deps.onStoreFailure(deliveryId, error));
  }
  return answer;
}

/**
 * Runs a sync delivery for at most `deadline`: retries that fall due before it happen here; when
 * it passes during an attempt the sender is told 202 running (the attempt goes on and its outcome
 * is recorded), between attempts 202 queued (the worker takes over).
 */
async function runWithinBudget(
  first: DeliveryRecord,
  source: CompiledSource,
  deps: PipelineDeps,
  trace: DeliveryTrace,
  deadline: number,
): Promise<{ answer: StoredAnswer; stored: boolean }> {
  const runDeps = {
    store: deps.store,
    client: deps.flowClient as FlowClient,
    policy: deps.policy,
    now: deps.now,
  };
  let record = first;
  // This request's hold on the delivery (its lease owner, set when it was created).
  const hold = first.lease?.owner ?? deps.owner;
  // Once the sender was told 202 running, a run that ends later must not store its own answer.
  let told = false;
  const answerFor = (done: DeliveryRecord, results: RouteResult[]) =>
    told ? undefined : syncAnswer(done, results, source);
  for (;;) {
    const run = runDelivery(record, runDeps, {
      holdUntil: deadline,
      owner: hold,
      leaseMs: deps.leaseMs,
      answerFor,
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(0, deadline - deps.now()));
    });
    // runDelivery catches the flow API's errors: what rejects here is the store, which could not
    // record the outcome. The delivery stays running under this lease; the worker resumes it.
    const outcome = await Promise.race([run, late])
      .catch((error: unknown) => {
        deps.onStoreFailure(record.id, error);
        return 'unrecorded' as const;
      })
      .finally(() => clearTimeout(timer));
    if (outcome === 'unrecorded') {
      trace.state = 'running';
      return {
        answer: { status: 202, body: { deliveryId: record.id, status: 'running' } },
        stored: false,
      };
    }
    if (outcome === 'late') {
      told = true;
      trace.state = 'running';
      // The attempt finishes on its own; a retry it schedules is the worker's.
      deps.track(
        run
          .then(async ({ record: done, lost }) => {
            // Held for a retry nobody will wait for here: hand it to the worker (unless another
            // holder has it now).
            if (!lost && done.state === 'running') {
              await deps.store.update(done.id, { state: 'queued', lease: null }, { owner: hold });
            }
            deps.onQueued();
          })
          .catch((error: unknown) => deps.onStoreFailure(record.id, error)),
      );
      return {
        answer: { status: 202, body: { deliveryId: record.id, status: 'running' } },
        stored: false,
      };
    }
    const { record: done, results, lost } = outcome;
    if (lost) {
      // This process's lease ran out during the call and another took the delivery over: the
      // attempt is recorded, but what happens next is the new holder's. Tell the sender that.
      trace.state = done.state;
      return {
        answer: { status: 202, body: { deliveryId: record.id, status: done.state } },
        stored: false,
      };
    }
    trace.sessionId = results.map((r) => ('sessionId' in r ? r.sessionId : '-')).join(',');
    if (done.state === 'running' && done.nextAttemptAt !== null) {
      // Held for a retry inside the budget: wait for it, then run again.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, done.nextAttemptAt! - deps.now())),
      );
      record = done;
      continue;
    }
    trace.state = done.state;
    if (done.state === 'queued') deps.onQueued();
    // runDelivery stored this same answer in the commit that recorded the outcome.
    return {
      answer: done.answer ?? syncAnswer(done, results, source),
      stored: done.answer !== null,
    };
  }
}

type Decision =
  | { kind: 'refused'; error: FlowhookError }
  | { kind: 'ignored' }
  | { kind: 'run'; plan: PlannedExecution[] };

/** The state a new delivery is stored in, and its answer when it is known without running. */
function initialState(
  decision: Decision,
  source: CompiledSource,
  deliveryId: string,
  dryRun: boolean,
): { state: DeliveryState; answer: StoredAnswer | null } {
  const base = { deliveryId, source: source.name };
  switch (decision.kind) {
    case 'refused':
      return { state: 'failed', answer: errorAnswer(decision.error, deliveryId) };
    case 'ignored':
      return {
        state: 'ignored',
        answer: {
          status: 202,
          body: {
            deliveryId,
            status: 'ignored',
            reason: `no route of source "${source.name}" matched`,
          },
        },
      };
    case 'run':
      if (source.mode === 'async')
        return { state: 'queued', answer: { status: 202, body: { deliveryId, status: 'queued' } } };
      if (!dryRun) return { state: 'running', answer: null };
      {
        const described = decision.plan.map((step) => ({
          route: step.route.name,
          flowId: step.route.flowId,
          request: describeExecute(step.request),
        }));
        const body =
          source.dispatch === 'all'
            ? { dryRun: true, ...base, executions: described }
            : { dryRun: true, ...base, ...described[0] };
        return { state: 'succeeded', answer: { status: 200, body } };
      }
  }
}

/**
 * What a sync sender is told after the run: 200 with the session(s); 502 when the flow API
 * refused for good (4xx) — the same shapes as the status table; 202 queued when the failure may
 * pass (network, timeout, 429, 5xx): the delivery is kept and retried, so the sender must not
 * think it failed.
 */
function syncAnswer(
  record: DeliveryRecord,
  results: RouteResult[],
  source: CompiledSource,
): StoredAnswer {
  const base = { deliveryId: record.id, source: record.source };
  const executions = results.map((r) =>
    'error' in r
      ? {
          route: r.route,
          flowId: r.flowId,
          error: { code: r.error.code, message: r.error.message, ...r.error.details },
        }
      : r,
  );
  if (record.state === 'succeeded') {
    return {
      status: 200,
      body: source.dispatch === 'all' ? { ...base, executions } : { ...base, ...executions[0] },
    };
  }
  if (record.state === 'queued') {
    return {
      status: 202,
      body: {
        deliveryId: record.id,
        status: 'queued',
        reason: `the flow API failed (${record.lastError?.message ?? 'error'}); the delivery is kept and retried`,
        ...(record.nextAttemptAt === null
          ? {}
          : { nextAttemptAt: new Date(record.nextAttemptAt).toISOString() }),
      },
    };
  }
  const failed = results.filter(
    (r): r is Extract<RouteResult, { error: FlowhookError }> => 'error' in r,
  );
  if (source.dispatch === 'first' && failed.length === 1)
    return errorAnswer(failed[0].error, record.id);
  return {
    status: 502,
    body: {
      error: `${failed.length} of ${results.length} executions failed: ${failed.map((r) => r.route).join(', ')}`,
      code: 'executions_failed',
      ...base,
      executions,
    },
  };
}

function errorAnswer(error: FlowhookError, deliveryId: string): StoredAnswer {
  return {
    status: error.status,
    body: { error: error.message, code: error.code, deliveryId, ...error.details },
  };
}

/** A repeat: the first request's answer, once it has one (a sync first request may still be running). */
async function replay(existing: DeliveryRecord, deps: PipelineDeps): Promise<DeliveryAnswer> {
  const headers = { 'Idempotent-Replayed': 'true' };
  const deadline = deps.now() + deps.replayWaitMs;
  let current: DeliveryRecord | undefined = existing;
  while (current && current.answer === null && deps.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    current = await deps.store.get(existing.id);
  }
  if (current?.answer) return { status: current.answer.status, body: current.answer.body, headers };
  return {
    status: 202,
    body: { deliveryId: existing.id, status: current?.state ?? existing.state },
    headers,
  };
}

function findSource(mappings: MappingSet, name: string): CompiledSource {
  const source = mappings.sources.get(name);
  if (source !== undefined) return source;
  const disabled = mappings.disabled.get(name);
  if (disabled !== undefined) {
    throw new FlowhookError('source_disabled', `source "${name}" is disabled: ${disabled.reason}`);
  }
  throw new FlowhookError('unknown_source', `no source named "${name}"`);
}

export interface PlannedExecution {
  readonly route: CompiledRoute;
  readonly request: ExecuteRequest;
}

/**
 * The routes that run and the exact execute requests they send, without sending them (also what
 * `flowhook test` shows). dispatch first: the first route whose conditions hold; all: every one.
 * Variables of every chosen route are extracted before anything runs, so bad input never leaves
 * a fan-out half done.
 */
export function planDelivery(
  source: CompiledSource,
  view: RequestView,
  defaultOrgId: string | undefined,
  traceparent?: string,
): PlannedExecution[] {
  const routes =
    source.dispatch === 'all'
      ? source.routes.filter((route) => route.when.holds(view))
      : source.routes.filter((route) => route.when.holds(view)).slice(0, 1);
  const missing: string[] = [];
  const invalid: { name: string; reason: string }[] = [];
  const fanOut = source.dispatch === 'all';
  const plan = routes.map((route) => {
    const extraction = route.extract(view);
    const qualify = (name: string) => (fanOut ? `${route.name}.${name}` : name);
    missing.push(...extraction.missing.map(qualify));
    invalid.push(...extraction.invalid.map((entry) => ({ ...entry, name: qualify(entry.name) })));
    return {
      route,
      request: {
        // Dry-run may run without FLOW_ORG_ID; the placeholder shows where it would go.
        orgId: route.orgId ?? defaultOrgId ?? '{FLOW_ORG_ID}',
        flowId: route.flowId,
        variables: extraction.variables,
        traceparent,
      },
    };
  });
  if (missing.length > 0) {
    throw new FlowhookError(
      'missing_variables',
      `required variables not found in the request: ${missing.join(', ')}`,
      { variables: missing },
    );
  }
  if (invalid.length > 0) {
    throw new FlowhookError(
      'invalid_variables',
      `variables of the wrong type: ${invalid.map((v) => `${v.name} ${v.reason}`).join('; ')}`,
      { variables: invalid },
    );
  }
  return plan;
}
