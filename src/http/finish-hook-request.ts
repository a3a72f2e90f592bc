import { context, type Context } from '@opentelemetry/api';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { DeliveryTrace } from '../pipeline/handle-delivery';
import { logHookRequest } from './request-log';

/** What the hook route keeps in res.locals for the end of the request. */
export interface HookRouteLocals {
  trace: DeliveryTrace;
  startedAt: number;
  /** The receive span's context: the answer's log line is written inside it (trace_id). */
  otel?: Context;
}

/**
 * The end of a hook request, answered or refused: its log line (inside the receive span, so it
 * carries the trace ids) and its counts. The source label is the configured source the request
 * reached, or `unknown` when it named none: a URL never adds a label value.
 */
export function finishHookRequest(
  logger: Logger,
  metrics: Metrics,
  res: { readonly locals: object },
  status: number,
  failure?: { code: string; message: string },
): void {
  const { trace, startedAt, otel } = res.locals as HookRouteLocals;
  const seconds = (performance.now() - startedAt) / 1000;
  metrics.request(
    trace.source ?? 'unknown',
    status,
    failure?.code ?? 'ok',
    trace.mode ?? 'unknown',
    seconds,
  );
  if (otel === undefined) logHookRequest(logger, trace, status, startedAt, failure);
  else context.with(otel, () => logHookRequest(logger, trace, status, startedAt, failure));
}
