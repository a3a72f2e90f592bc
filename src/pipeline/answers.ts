import type { RouteResult } from '../deliveries/run-delivery';
import type { ClaimedDelivery, DeliveryState, StoredAnswer } from '../deliveries/types';
import type { FlowhookError } from '../errors';
import { describeExecute } from '../flows/execute-request';
import type { CompiledSource } from '../mappings/types';
import type { PlannedExecution } from '../routing/plan-delivery';
import { answerContext } from '../responses/answer-context';
import { failureMessage } from '../responses/create-late-answers';
import { respondWith } from '../responses/respond-with';

// The shapes of what a sender is told about a delivery. Every answer names its deliveryId.

/**
 * 202: the delivery is accepted and this is its state (queued, running, ignored…), with any
 * details. Every 202 the pipeline gives is built here.
 */
export function acceptedAnswer(
  deliveryId: string,
  state: DeliveryState,
  details: Record<string, unknown> = {},
): StoredAnswer {
  return { status: 202, body: { deliveryId, status: state, ...details } };
}

/** A refusal: the error's status, and its message, code and details. */
export function errorAnswer(error: FlowhookError, deliveryId: string): StoredAnswer {
  return {
    status: error.status,
    body: { error: error.message, code: error.code, deliveryId, ...error.details },
  };
}

/** 200 in dry-run: the execute request(s) that would have been sent. */
export function dryRunAnswer(
  plan: readonly PlannedExecution[],
  source: CompiledSource,
  deliveryId: string,
): StoredAnswer {
  const base = { deliveryId, source: source.name };
  const described = plan.map((step) => ({
    route: step.route.name,
    flowId: step.route.flowId,
    request: describeExecute(step.request),
  }));
  const body =
    source.dispatch === 'all'
      ? { dryRun: true, ...base, executions: described }
      : { dryRun: true, ...base, ...described[0] };
  return { status: 200, body };
}

/**
 * What a sync sender is told after the run: 200 with the session(s); 502 when the flow API
 * refused for good (4xx) — the same shapes as the status table; 202 queued when the failure may
 * pass (network, timeout, 429, 5xx): the delivery is kept and retried, so the sender must not
 * think it failed.
 */
export function syncAnswer(
  record: ClaimedDelivery,
  results: RouteResult[],
  source: CompiledSource,
  /** The parsed request body, for the `respond:` templates' JSONPath. */
  body: unknown,
): StoredAnswer {
  const own = flowhookSyncAnswer(record, results, source);
  if (source.respond === undefined) return own;
  const outcome =
    record.state === 'succeeded' ? 'ok' : record.state === 'queued' ? 'queued' : 'failed';
  const error =
    outcome === 'ok'
      ? undefined
      : outcome === 'queued'
        ? record.lastError?.message
        : failureMessage(record, results);
  return respondWith(source, outcome, own, () =>
    answerContext(record.id, body, record, results, error),
  );
}

function flowhookSyncAnswer(
  record: ClaimedDelivery,
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
    return acceptedAnswer(record.id, 'queued', {
      reason: `the flow API failed (${record.lastError?.message ?? 'error'}); the delivery is kept and retried`,
      ...(record.nextAttemptAt === null
        ? {}
        : { nextAttemptAt: new Date(record.nextAttemptAt).toISOString() }),
    });
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
