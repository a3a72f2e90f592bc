import type { RouteResult } from '../deliveries/run-delivery';
import type { DeliveryRecord } from '../deliveries/types';
import type { AnswerContext } from './types';

/**
 * The values a response template reads for a delivery: its routes and variables, and what the
 * run did (sessions, results). A fan-out joins its routes, flows and sessions with ", "; vars.NAME
 * is the first route's that sends NAME. `error` is flowhook's own message, never the flow
 * platform's text (which may echo a token back).
 */
export function answerContext(
  deliveryId: string,
  body: unknown,
  record?: Pick<DeliveryRecord, 'routes'>,
  results: readonly RouteResult[] = [],
  error?: string,
): AnswerContext {
  const routes = record?.routes ?? [];
  const vars: Record<string, unknown> = Object.create(null);
  for (const route of [...routes].reverse()) {
    Object.assign(vars, route.variables as Record<string, unknown>);
  }
  const sessions = results.filter(
    (r): r is Extract<RouteResult, { sessionId: string }> => 'sessionId' in r,
  );
  const joined = (values: string[]) => (values.length > 0 ? values.join(', ') : undefined);
  return {
    deliveryId,
    body,
    route: joined(routes.map((r) => r.route)),
    flow: joined(routes.map((r) => r.flowId)),
    vars,
    sessionId: joined(sessions.map((r) => r.sessionId)),
    result: joined(sessions.map((r) => r.result)),
    error,
  };
}
