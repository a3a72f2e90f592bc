import { FlowhookError } from '../errors';
import type { ExecuteRequest } from '../flows/execute-request';
import type { CompiledRoute, CompiledSource } from '../mappings/types';
import type { RequestView } from './request-view';

export interface PlannedExecution {
  readonly route: CompiledRoute;
  readonly request: ExecuteRequest;
}

/**
 * The routes that run and the exact execute requests they send, without sending them (what the
 * hook route runs, what a replay runs again, and what `flowhook test` shows). dispatch first: the
 * first route whose conditions hold; all: every one. Variables of every chosen route are
 * extracted before anything runs, so bad input never leaves a fan-out half done.
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
