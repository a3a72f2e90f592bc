import { parseBody } from '../body/parse-body';
import type { RetryPolicy } from '../deliveries/retry-policy';
import { runDelivery, type RouteResult } from '../deliveries/run-delivery';
import type { Attempt, DeliveryRecord, DeliveryStore } from '../deliveries/types';
import { FlowhookError } from '../errors';
import type { FlowClient } from '../flows/create-flow-client';
import { validTraceparent } from '../flows/valid-traceparent';
import type { CompiledSource, MappingSet } from '../mappings/types';
import type { RequestView } from '../routing/request-view';
import { planDelivery } from '../routing/plan-delivery';
import type { Leases } from '../deliveries/lease';
import type { Metrics } from '../observability/metrics';

export interface ReplayDeps {
  readonly store: DeliveryStore;
  /** The current mappings: a replay uses what is loaded now, not what the delivery first met. */
  readonly mappings: () => MappingSet;
  /** The flow API (in dry-run, a client that logs instead of sending). */
  readonly client: FlowClient;
  readonly policy: RetryPolicy;
  readonly defaultOrgId: string | undefined;
  /** EXECUTE_BODY_LIMIT, in bytes; unset = the default. */
  readonly executeBodyLimit?: number;
  /** This process's leases: the delivery is held under a new holder name while the replay runs. */
  readonly leases: Leases;
  readonly now: () => number;
  /** The replay ended queued for a retry: wake the worker. */
  readonly onQueued: () => void;
  /** `mappings` holds a draft for this source (the console's playground): attempts are marked. */
  readonly draft?: boolean;
  /** The replay's attempts and outcome counted (/metrics). */
  readonly metrics?: Metrics;
}

export interface ReplayOutcome {
  /** The delivery after the replay. */
  readonly record: DeliveryRecord;
  /** The attempts this replay added. */
  readonly attempts: readonly Attempt[];
  readonly results: readonly RouteResult[];
}

/**
 * Runs a stored delivery's raw request through the current mappings as a new attempt of the same
 * delivery (docs/deliveries.md#replay): the source as loaded now, its body parsing, route choice and variables,
 * then every chosen route executes again (`fresh`), whatever earlier attempts did.
 *
 * The signature is not checked again: it was verified when the request was received, and signed
 * timestamps would be stale by now. Idempotency does not apply either: a replay is asked for.
 *
 * Refusals (unknown delivery, one running right now, a truncated body, a source gone or
 * disabled, a body the source cannot parse, variables missing, no route matching) throw a
 * FlowhookError and leave the delivery exactly as it was. The stored `answer` (what the sender was
 * told, and what an idempotent repeat gets) is not changed by a replay.
 */
export async function replayDelivery(id: string, deps: ReplayDeps): Promise<ReplayOutcome> {
  const record = await deps.store.get(id);
  if (record === undefined) {
    throw new FlowhookError('delivery_not_found', `no delivery with id ${id}`);
  }
  if (record.state === 'running') {
    throw new FlowhookError(
      'delivery_running',
      `delivery ${id} is running right now; replay it once it has finished`,
    );
  }
  if (record.request.bodyTruncated) {
    throw new FlowhookError(
      'not_replayable',
      `delivery ${id} cannot be replayed: its body was stored truncated (${record.request.bodyBytes} bytes received)`,
    );
  }
  const source = currentSource(deps.mappings(), record.source);
  const view = storedView(record, source);
  const plan = planDelivery(
    source,
    view,
    deps.defaultOrgId,
    validTraceparent(record.request.headers.traceparent),
    deps.executeBodyLimit,
  );
  if (plan.length === 0) {
    throw new FlowhookError(
      'no_route_matched',
      `no route of source "${source.name}" (version ${source.version}) matches delivery ${id}; nothing was run`,
    );
  }
  const before = Math.max(0, ...record.attempts.map((a) => a.number));
  // Attempts before this replay no longer count for these routes, in this run and in retries.
  const routes = plan.map((step) => ({
    route: step.route.name,
    flowId: step.route.flowId,
    orgId: step.request.orgId,
    variables: step.request.variables,
    fromAttempt: before + 1,
  }));
  const lease = { owner: deps.leases.newHolder(), until: deps.now() + deps.leases.leaseMs };
  // Conditional: a worker (of any process) or another replay that took the delivery since it was
  // read above wins, and this replay is refused rather than run beside it.
  const claimed = await deps.store.claim(id, {
    owner: lease.owner,
    until: lease.until,
    fromState: record.state,
    // fromAttempt above counts the attempts read: one recorded since (another process ran it and
    // left it in the same state) fails the claim too.
    attempts: record.attempts.length,
    patch: { routes, mappingVersion: source.version },
  });
  if (claimed === 'missing') {
    throw new FlowhookError('delivery_not_found', `no delivery with id ${id}`);
  }
  if (claimed === 'changed') {
    throw new FlowhookError(
      'delivery_running',
      `delivery ${id} was taken by a worker or another replay just now; replay it once it has finished`,
    );
  }
  const held: DeliveryRecord = {
    ...record,
    state: 'running',
    routes,
    mappingVersion: source.version,
    lease,
    nextAttemptAt: null,
  };
  const { record: after, results } = await runDelivery(
    held,
    {
      store: deps.store,
      client: deps.client,
      policy: deps.policy,
      now: deps.now,
      metrics: deps.metrics,
    },
    { fresh: true, draft: deps.draft },
  );
  if (after.state === 'queued') deps.onQueued();
  return { record: after, attempts: after.attempts.filter((a) => a.number > before), results };
}

function currentSource(mappings: MappingSet, name: string): CompiledSource {
  const source = mappings.sources.get(name);
  if (source !== undefined) return source;
  const disabled = mappings.disabled.get(name);
  if (disabled !== undefined) {
    throw new FlowhookError('source_disabled', `source "${name}" is disabled: ${disabled.reason}`);
  }
  throw new FlowhookError(
    'unknown_source',
    `no source named "${name}" is loaded now (its mapping file was removed or renamed)`,
  );
}

/**
 * The request as conditions and variables see it, rebuilt from the stored copy: the exact body
 * bytes, the stored headers and query. Values redacted when stored (credentials) read as
 * "[redacted]".
 */
function storedView(record: DeliveryRecord, source: CompiledSource): RequestView {
  const { headers, url, bodyBase64 } = record.request;
  const at = url.indexOf('?');
  const query: Record<string, string | undefined> = Object.create(null);
  if (at >= 0) {
    for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
      // The first of repeated parameters, as on the hook route.
      if (!(name in query)) query[name] = value;
    }
  }
  return {
    body: parseBody(Buffer.from(bodyBase64, 'base64'), headers['content-type'], source.jsonFields),
    headers,
    query,
  };
}
