import { randomUUID } from 'node:crypto';
import { parseBody } from '../body/parse-body';
import { FlowhookError } from '../errors';
import type { FlowClient } from '../flows/create-flow-client';
import { executePath, type ExecuteRequest } from '../flows/execute-request';
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
    body: parseBody(request.rawBody, request.headers['content-type']),
    headers: request.headers,
    query: request.query,
  };
  trace.providerDeliveryId = verdict.deliveryId ?? source.bodyDeliveryId?.(view.body);
  const handshake = source.handshake?.(view.body, view.headers);
  if (handshake !== undefined) return handshake;

  const route = source.routes.find((candidate) => candidate.matches(view));
  if (route === undefined) {
    return {
      status: 202,
      body: {
        deliveryId,
        status: 'ignored',
        reason: `no route of source "${source.name}" matched`,
      },
    };
  }
  trace.route = route.name;
  trace.flow = route.flowId;
  const traceparent = validTraceparent(request.headers.traceparent);
  const execute = buildExecuteRequest(route, view, deps.defaultOrgId, traceparent);
  const common = { deliveryId, source: source.name, route: route.name, flowId: route.flowId };

  if (deps.flowClient === undefined) {
    trace.dryRun = true;
    return { status: 200, body: { dryRun: true, ...common, request: describe(execute) } };
  }
  const outcome = await deps.flowClient.execute(execute);
  trace.sessionId = outcome.sessionId;
  return { status: 200, body: { ...common, sessionId: outcome.sessionId, result: outcome.result } };
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

function buildExecuteRequest(
  route: CompiledRoute,
  view: RequestView,
  defaultOrgId: string | undefined,
  traceparent: string | undefined,
): ExecuteRequest {
  const { variables, missing } = route.extract(view);
  if (missing.length > 0) {
    throw new FlowhookError(
      'missing_variables',
      `required variables not found in the request: ${missing.join(', ')}`,
      { variables: missing },
    );
  }
  return {
    // Dry-run may run without FLOW_ORG_ID; the placeholder shows where it would go.
    orgId: route.orgId ?? defaultOrgId ?? '{FLOW_ORG_ID}',
    flowId: route.flowId,
    variables,
    traceparent,
  };
}

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/** W3C trace context is passed on only when well formed; anything else is dropped, not forwarded. */
function validTraceparent(value: string | undefined): string | undefined {
  return value !== undefined && TRACEPARENT.test(value) ? value : undefined;
}

/** Dry-run's account of the call it did not make; the token is never shown. */
function describe(request: ExecuteRequest) {
  return {
    method: 'POST',
    path: executePath(request.orgId, request.flowId),
    headers: {
      'content-type': 'application/json',
      authorization: 'Bearer [FLOW_API_TOKEN]',
      ...(request.traceparent ? { traceparent: request.traceparent } : {}),
    },
    body: request.variables,
  };
}
