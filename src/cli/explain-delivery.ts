import { parseBody } from '../body/parse-body';
import { FlowhookError } from '../errors';
import { describeExecute } from '../flows/execute-request';
import type { CompiledSource } from '../mappings/types';
import { planDelivery } from '../routing/plan-delivery';
import type { ConditionTrace } from '../routing/compile-condition';
import type { RequestView } from '../routing/request-view';
import type { HeaderMap } from '../verify/types';

export interface Explanation {
  readonly source: string;
  readonly file: string;
  readonly dispatch: 'first' | 'all';
  /** Each route in order, with its conditions' trace. */
  readonly routes: { name: string; held: boolean; conditions: ConditionTrace[] }[];
  /** The routes that would run. */
  readonly matched: string[];
  /** The execute requests that would be sent (empty when none matched or variables failed). */
  readonly executions: {
    route: string;
    flowId: string;
    request: ReturnType<typeof describeExecute>;
  }[];
  /** A refusal the request would get (400/415 body, 422 variables), instead of executions. */
  readonly error?: {
    status: number;
    code: string;
    message: string;
    details: Record<string, unknown>;
  };
}

/**
 * What the server would do with a request to `source`, without the signature check and without
 * calling the flow API: route by route and condition by condition, then the execute requests.
 */
export function explainDelivery(
  source: CompiledSource,
  request: { rawBody: Buffer; headers: HeaderMap; query: Record<string, string | undefined> },
  defaultOrgId: string | undefined,
): Explanation {
  const base = { source: source.name, file: source.file, dispatch: source.dispatch };
  let view: RequestView;
  try {
    view = {
      body: parseBody(request.rawBody, request.headers['content-type'], source.jsonFields),
      headers: request.headers,
      query: request.query,
    };
  } catch (error) {
    return { ...base, routes: [], matched: [], executions: [], error: refusal(error) };
  }
  const routes = source.routes.map((route) => {
    const trace = route.when.explain(view);
    return { name: route.name, held: trace.held, conditions: trace.children ?? [] };
  });
  try {
    const plan = planDelivery(source, view, defaultOrgId);
    return {
      ...base,
      routes,
      matched: plan.map((step) => step.route.name),
      executions: plan.map((step) => ({
        route: step.route.name,
        flowId: step.route.flowId,
        request: describeExecute(step.request),
      })),
    };
  } catch (error) {
    const matched = routes.filter((r) => r.held).map((r) => r.name);
    const chosen = source.dispatch === 'all' ? matched : matched.slice(0, 1);
    return { ...base, routes, matched: chosen, executions: [], error: refusal(error) };
  }
}

function refusal(error: unknown): Explanation['error'] {
  if (!(error instanceof FlowhookError)) throw error;
  return {
    status: error.status,
    code: error.code,
    message: error.message,
    details: { ...error.details },
  };
}
