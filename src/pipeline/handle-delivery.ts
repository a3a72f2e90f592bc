import { parseBody } from '../body/parse-body';
import type { Leases } from '../deliveries/lease';
import { newDeliveryId } from '../deliveries/new-delivery-id';
import type { RetryPolicy } from '../deliveries/retry-policy';
import type {
  DeliveryRecord,
  DeliveryState,
  DeliveryStore,
  NewDelivery,
  RunningDelivery,
  StoredAnswer,
} from '../deliveries/types';
import { FlowhookError } from '../errors';
import type { FlowClient } from '../flows/create-flow-client';
import type { FlowLimiter } from '../limits/create-flow-limiter';
import { validTraceparent } from '../flows/valid-traceparent';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { currentTraceparent, stage } from '../observability/trace-context';
import { verificationFailure } from '../observability/verification-failure';
import type { SecretRedactor } from '../redact/create-secret-redactor';
import type { CompiledSource, MappingSet } from '../mappings/types';
import { planDelivery, type PlannedExecution } from '../routing/plan-delivery';
import type { RequestView } from '../routing/request-view';
import type { HeaderMap } from '../verify/types';
import { answerRepeat } from './answer-repeat';
import { explainReceived } from './explain-received';
import { acceptedAnswer, dryRunAnswer, errorAnswer } from './answers';
import { answerContext } from '../responses/answer-context';
import type { LateAnswers } from '../responses/create-late-answers';
import { isTemplatedRefusal, respondWith } from '../responses/respond-with';
import { runWithinBudget } from './run-within-budget';
import { toStoredRequest } from './stored-request';

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
  /** EXECUTE_BODY_LIMIT, in bytes (422 variables_too_large past it); unset = the default. */
  readonly executeBodyLimit?: number;
  readonly now: () => number;
  readonly store: DeliveryStore;
  readonly policy: RetryPolicy;
  readonly idempotencyWindowMs: number;
  /**
   * A refused request (400, 415, 422) keeps at most this much of its body: it will not run, and
   * a sender may send any number of them (issue 9, item 4). Undefined = all of it.
   */
  readonly refusedBodyLimit?: number;
  /**
   * This process's leases: a sync delivery is held under a new holder name while it runs; after a
   * crash the worker takes it back once the lease expires.
   */
  readonly leases: Leases;
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
  /** Late answers through a request's response_url (respond: slack). */
  readonly lateAnswers: LateAnswers;
  /** Per-flow limits, circuits and pauses: a sync delivery waits for room (docs/limits.md). */
  readonly limiter?: FlowLimiter;
  /** Deliveries, attempts and refused signatures counted (/metrics); none = not counted. */
  readonly metrics?: Metrics;
  /** Failed execute attempts are logged here (warn); none = not logged. */
  readonly logger?: Logger;
  /** Every configured secret and the flow token, kept out of logged upstream messages. */
  readonly secrets?: () => SecretRedactor;
}

/** What the request log line says; filled in as the request moves through the stages. */
export interface DeliveryTrace {
  deliveryId?: string;
  providerDeliveryId?: string;
  source?: string;
  /** A disabled source: why (logged, never answered). */
  disabled?: string;
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
  /** A respond: template's answer: `body` is the exact text, sent with this content type. */
  readonly contentType?: string;
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
  const source = findSource(deps.mappings(), request.sourceName, trace);
  trace.source = source.name;
  trace.mappingVersion = source.version;
  trace.mode = source.mode;

  const verdict = stage('flowhook.verify', { 'flowhook.source': source.name }, (span) => {
    const result = source.verify({
      rawBody: request.rawBody,
      headers: request.headers,
      method: request.method,
      // Only the presets that sign the URL read it; working it out costs a few header reads.
      get url() {
        return request.url;
      },
      query: request.query,
      now: deps.now(),
    });
    if (!result.ok) {
      const reason = verificationFailure(result.reason);
      deps.metrics?.verificationFailed(source.name, reason);
      span.setAttribute('flowhook.outcome', reason);
    }
    return result;
  });
  if (!verdict.ok) throw new FlowhookError('invalid_signature', verdict.reason);
  // From here on the request is a delivery: it has an id, is stored, and answers carry the id.
  const deliveryId = newDeliveryId(deps.now());
  trace.deliveryId = deliveryId;
  trace.secretIndex = verdict.secretIndex;

  // The sender's traceparent, when valid: passed on to the flow API, and kept with the delivery.
  const senderTraceparent = validTraceparent(request.headers.traceparent);
  let view: RequestView | undefined;
  let decision: Decision;
  try {
    view = {
      body: stage('flowhook.parse', {}, () =>
        parseBody(request.rawBody, request.headers['content-type'], source.jsonFields),
      ),
      headers: request.headers,
      query: request.query,
    };
    trace.providerDeliveryId = verdict.deliveryId ?? source.bodyDeliveryId?.(view.body);
    const handshake = source.handshake?.(view.body, view.headers);
    if (handshake !== undefined) return handshake; // a set-up check, not an event: not stored
    const plan = stage('flowhook.match', {}, (span) => {
      const planned = planDelivery(
        source,
        view as RequestView,
        deps.defaultOrgId,
        senderTraceparent,
        deps.executeBodyLimit,
      );
      span.setAttribute('flowhook.route', planned.map((step) => step.route.name).join(','));
      return planned;
    });
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
  const initial = initialState(decision, source, deliveryId, dryRun, view);
  const now = deps.now();
  // One write: the delivery, and its answer when it is already known (async, ignored, refused).
  const creating = createDelivery(
    deps.store,
    {
      id: deliveryId,
      source: source.name,
      idempotencyKey: key,
      mode: source.mode,
      state: initial.state,
      receivedAt: now,
      mappingVersion: source.version,
      request: toStoredRequest(
        request,
        source.verifySpec?.secrets ?? [],
        decision.kind === 'refused' ? deps.refusedBodyLimit : undefined,
      ),
      routes: decision.kind === 'run' ? routesOf(decision.plan) : [],
      // Held under a holder name of its own (see Leases) while this request runs it.
      lease:
        initial.state === 'running'
          ? { owner: deps.leases.newHolder(), until: now + deps.leases.leaseMs }
          : null,
      nextAttemptAt: null,
      answer: initial.answer,
      // A refusal says why in the delivery log too, not only inside the stored answer.
      lastError:
        decision.kind === 'refused'
          ? { code: decision.error.code, message: decision.error.message }
          : null,
      // Why it routed (or not), with the mapping in force now: computed once, kept with it.
      explanation: explainReceived(
        source,
        view,
        decision.kind === 'run'
          ? { matched: decision.plan.map((step) => step.route.name) }
          : decision.kind === 'refused'
            ? { matched: [], error: decision.error }
            : { matched: [] },
        verdict.secretIndex,
      ),
      // Its later attempts (the worker, a replay, another instance) join this trace: the receive
      // span's, or with tracing off the sender's own, passed on as it came (the worker's claim
      // does not read the stored headers, issue 15).
      traceContext: currentTraceparent() ?? senderTraceparent ?? null,
    },
    deps.idempotencyWindowMs,
  );
  // Past this point only a respond: template reads the parsed body (its answers, a late answer's
  // response_url). Without one it is let go now, before the create waits for its fsync and the
  // flow runs, so that it dies in the young generation instead of being copied out of it with
  // every sync request (issue 15).
  const body = source.respond === undefined ? undefined : view?.body;
  view = undefined;
  const created = await creating;
  if (!created.created) {
    trace.replayed = true;
    trace.deliveryId = created.existing.id;
    deps.metrics?.delivery(source.name, 'replayed');
    return answerRepeat(created.existing, deps);
  }
  if (decision.kind === 'run') {
    trace.route = decision.plan.map((step) => step.route.name).join(',');
    trace.flow = decision.plan.map((step) => step.route.flowId).join(',');
  }
  if (initial.answer !== null) {
    trace.state = initial.state;
    deps.metrics?.delivery(
      source.name,
      decision.kind === 'refused'
        ? 'failed'
        : (initial.state as 'queued' | 'ignored' | 'succeeded'),
    );
    if (initial.state === 'queued') {
      if (source.respond?.lateAnswers) {
        // Recorded before the worker is woken: it sends the outcome to the response_url.
        await deps.lateAnswers
          .promise(deliveryId, source, body)
          .catch((error: unknown) => deps.onStoreFailure(deliveryId, error));
      }
      deps.onQueued();
    }
    // A refusal is flowhook's error answer, unless the mapping's respond: rendered its own.
    if (decision.kind === 'refused' && initial.answer.contentType === undefined) {
      throw decision.error;
    }
    trace.dryRun = dryRun && decision.kind === 'run' ? true : undefined;
    return initial.answer;
  }
  // sync: run now while the sender waits, retrying inside replyWithin.
  const { answer, stored } = await runWithinBudget(
    created.running,
    source,
    deps,
    trace,
    now + source.replyWithinMs,
    body,
  );
  // Handed on (the worker, or the run going on past replyWithin); the end is counted when it comes.
  if (trace.state === 'queued' || trace.state === 'running')
    deps.metrics?.delivery(source.name, 'queued');
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
 * The create, answered with the record as the run holds it: without what the run never reads
 * (the stored request, the explanation), which would otherwise live for as long as the flow runs
 * and be copied out of the young generation with every sync request (issue 15). Not an async
 * function: nothing here holds the new delivery while its write waits for the fsync.
 */
function createDelivery(
  store: DeliveryStore,
  delivery: NewDelivery,
  windowMs: number,
): Promise<
  | { readonly created: false; readonly existing: DeliveryRecord }
  | { readonly created: true; readonly running: RunningDelivery }
> {
  return store.create(delivery, windowMs).then(
    (result) => {
      if (!result.created) return result;
      const { request: _stored, explanation: _explained, ...running } = result.record;
      return { created: true, running };
    },
    (error: unknown) => {
      // Nothing was accepted: 503, so the sender sends it again later.
      throw new FlowhookError(
        'store_unavailable',
        'the delivery store failed to record the delivery; nothing was accepted, send it again',
        {},
        error,
      );
    },
  );
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
  view: RequestView | undefined,
): { state: DeliveryState; answer: StoredAnswer | null } {
  const body = view?.body;
  switch (decision.kind) {
    case 'refused':
      if (!isTemplatedRefusal(decision.error.code))
        return { state: 'failed', answer: errorAnswer(decision.error, deliveryId) };
      return {
        state: 'failed',
        answer: respondWith(source, 'refused', errorAnswer(decision.error, deliveryId), () => {
          // The routes that matched, when the body could be read (the variables were refused).
          const held = view ? source.routes.filter((route) => route.when.holds(view)) : [];
          const chosen = source.dispatch === 'all' ? held : held.slice(0, 1);
          const routes = chosen.map((r) => ({
            route: r.name,
            flowId: r.flowId,
            orgId: '',
            variables: {},
          }));
          return answerContext(deliveryId, body, { routes }, [], decision.error.message);
        }),
      };
    case 'ignored':
      return {
        state: 'ignored',
        answer: respondWith(
          source,
          'ignored',
          acceptedAnswer(deliveryId, 'ignored', {
            reason: `no route of source "${source.name}" matched`,
          }),
          () => answerContext(deliveryId, body),
        ),
      };
    case 'run':
      if (source.mode === 'async')
        return {
          state: 'queued',
          answer: respondWith(source, 'queued', acceptedAnswer(deliveryId, 'queued'), () =>
            answerContext(deliveryId, body, { routes: routesOf(decision.plan) }),
          ),
        };
      if (!dryRun) return { state: 'running', answer: null };
      return { state: 'succeeded', answer: dryRunAnswer(decision.plan, source, deliveryId) };
  }
}

/** The routes a delivery stores: each chosen route and the variables it sends. */
function routesOf(plan: readonly PlannedExecution[]): DeliveryRecord['routes'] {
  return plan.map((step) => ({
    route: step.route.name,
    flowId: step.route.flowId,
    orgId: step.request.orgId,
    variables: step.request.variables,
  }));
}

function findSource(mappings: MappingSet, name: string, trace: DeliveryTrace): CompiledSource {
  const source = mappings.sources.get(name);
  if (source !== undefined) return source;
  const disabled = mappings.disabled.get(name);
  if (disabled !== undefined) {
    // Why goes to the log line (and /readyz, the admin API), never to an unauthenticated sender:
    // variable names and mapping errors describe the deployment (issue 9, item 8).
    trace.source = name;
    trace.disabled = disabled.reason;
    throw new FlowhookError('source_disabled', `source "${name}" is unavailable`);
  }
  throw new FlowhookError('unknown_source', `no source named "${name}"`);
}
