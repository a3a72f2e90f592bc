import { randomUUID } from 'node:crypto';
import { parseBody } from '../body/parse-body';
import { ERROR_STATUS, FlowhookError } from '../errors';
import type { FlowClient } from '../flows/create-flow-client';
import { describeExecute, type ExecuteRequest } from '../flows/execute-request';
import type { CompiledRoute, CompiledSource, MappingSet } from '../mappings/types';
import type { RequestView } from '../routing/request-view';
import type { HeaderMap } from '../verify/types';

/** A request to POST /hooks/:source, as the HTTP layer hands it over. */
export interface InboundRequest {
  readonly sourceName: string;
  readonly rawBody: Buffer;
  readonly headers: HeaderMap;
  readonly method: string;
  readonly url: string;
  readonly query: Readonly<Record<string, string | undefined>>;
}

export interface PipelineDeps {
  readonly mappings: () => MappingSet;
  /** Undefined = dry-run: everything but the execute call. */
  readonly flowClient: FlowClient | undefined;
  readonly defaultOrgId: string | undefined;
  readonly now: () => number;
}

/** What the request log line says; filled in as the request moves through the stages. */
export interface DeliveryTrace {
  deliveryId?: string;
  providerDeliveryId?: string;
  source?: string;
  mappingVersion?: string;
  secretIndex?: number | null;
  route?: string;
  flow?: string;
  sessionId?: string;
  dryRun?: boolean;
}

export interface DeliveryAnswer {
  readonly status: number;
  /** JSON, or plain text when `text` is set (a handshake that expects it). */
  readonly body: unknown;
  readonly text?: boolean;
}

/**
 * receive → verify → parse → match → extract → execute → answer. Throws FlowhookError for every
 * refusal; the HTTP layer turns it into the status table's answer.
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

  const verdict = source.verify({
    rawBody: request.rawBody,
    headers: request.headers,
    method: request.method,
    url: request.url,
    query: request.query,
    now: deps.now(),
  });
  if (!verdict.ok) throw new FlowhookError('invalid_signature', verdict.reason);
  // From here on the request is a delivery: it has an id, and error answers carry it.
  const deliveryId = randomUUID();
  trace.deliveryId = deliveryId;
  trace.secretIndex = verdict.secretIndex;

  const view: RequestView = {
    body: parseBody(request.rawBody, request.headers['content-type'], source.jsonFields),
    headers: request.headers,
    query: request.query,
  };
  trace.providerDeliveryId = verdict.deliveryId ?? source.bodyDeliveryId?.(view.body);
  const handshake = source.handshake?.(view.body, view.headers);
  if (handshake !== undefined) return handshake;

  const traceparent = validTraceparent(request.headers.traceparent);
  const plan = planDelivery(source, view, deps.defaultOrgId, traceparent);
  if (plan.length === 0) {
    return {
      status: 202,
      body: {
        deliveryId,
        status: 'ignored',
        reason: `no route of source "${source.name}" matched`,
      },
    };
  }
  trace.route = plan.map((step) => step.route.name).join(',');
  trace.flow = plan.map((step) => step.route.flowId).join(',');
  const base = { deliveryId, source: source.name };

  if (deps.flowClient === undefined) {
    trace.dryRun = true;
    const described = plan.map((step) => ({
      ...names(step.route),
      request: describeExecute(step.request),
    }));
    return {
      status: 200,
      body:
        source.dispatch === 'all'
          ? { dryRun: true, ...base, executions: described }
          : { dryRun: true, ...base, ...described[0] },
    };
  }
  if (source.dispatch === 'first') {
    const [{ route, request: execute }] = plan;
    const outcome = await deps.flowClient.execute(execute);
    trace.sessionId = outcome.sessionId;
    return { status: 200, body: { ...base, ...names(route), ...outcome } };
  }
  return fanOut(plan, deps.flowClient, base, trace);
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

const names = (route: CompiledRoute) => ({ route: route.name, flowId: route.flowId });

/** dispatch: all — every planned execution runs at once; 200 only when all of them succeeded. */
async function fanOut(
  plan: PlannedExecution[],
  client: FlowClient,
  base: { deliveryId: string; source: string },
  trace: DeliveryTrace,
): Promise<DeliveryAnswer> {
  const settled = await Promise.allSettled(plan.map((step) => client.execute(step.request)));
  const executions = settled.map((result, index) => {
    const route = names(plan[index].route);
    if (result.status === 'fulfilled') return { ...route, ...result.value };
    const error = result.reason instanceof FlowhookError ? result.reason : undefined;
    return {
      ...route,
      error: {
        code: error?.code ?? 'internal',
        message: error?.message ?? 'internal error',
        ...error?.details,
      },
    };
  });
  trace.sessionId = executions.map((e) => ('sessionId' in e ? e.sessionId : '-')).join(',');
  const failed = executions.filter((e) => 'error' in e);
  if (failed.length === 0) return { status: 200, body: { ...base, executions } };
  return {
    status: ERROR_STATUS.executions_failed,
    body: {
      error: `${failed.length} of ${executions.length} executions failed: ${failed.map((e) => e.route).join(', ')}`,
      code: 'executions_failed',
      ...base,
      executions,
    },
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

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/** W3C trace context is passed on only when well formed; anything else is dropped, not forwarded. */
function validTraceparent(value: string | undefined): string | undefined {
  return value !== undefined && TRACEPARENT.test(value) ? value : undefined;
}
