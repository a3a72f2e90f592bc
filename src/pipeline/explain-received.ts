import type { RoutingExplanation, StoredConditionTrace } from '../deliveries/types';
import type { FlowhookError } from '../errors';
import type { CompiledSource } from '../mappings/types';
import type { ConditionTrace } from '../routing/compile-condition';
import type { RequestView } from '../routing/request-view';

/** A found value longer than this (as JSON) is stored cut, as a string ending in "…". */
const MAX_FOUND_CHARS = 200;
/** Values found per condition kept (a path that matches many nodes). */
const MAX_FOUND_VALUES = 10;

/**
 * The routing explanation stored with a delivery when it is received (issue 13): the same
 * route-by-route, condition-by-condition trace `flowhook test` prints, with the mapping in force
 * now. Found values are bounded (each cut to MAX_FOUND_CHARS, at most MAX_FOUND_VALUES per
 * condition) and a value holding one of the source's secrets is stored as "[redacted]".
 */
export function explainReceived(
  source: CompiledSource,
  view: RequestView | undefined,
  outcome: { matched: readonly string[]; error?: FlowhookError },
  secretIndex: number | null,
): RoutingExplanation {
  const secrets = (source.verifySpec?.secrets ?? []).filter((s) => s.length > 0);
  const routes =
    view === undefined
      ? []
      : source.routes.map((route) => {
          const trace = route.when.explain(view);
          return {
            name: route.name,
            held: trace.held,
            conditions: (trace.children ?? []).map((c) => bounded(c, secrets)),
          };
        });
  let matched = outcome.matched;
  if (outcome.error !== undefined && matched.length === 0) {
    // Refused after routing (variables): the routes that held, as dispatch would have run them.
    const held = routes.filter((r) => r.held).map((r) => r.name);
    matched = source.dispatch === 'all' ? held : held.slice(0, 1);
  }
  return {
    mappingVersion: source.version,
    file: source.file,
    dispatch: source.dispatch,
    verification: { provider: source.provider, secretIndex },
    routes,
    matched: [...matched],
    ...(outcome.error === undefined
      ? {}
      : {
          error: {
            status: outcome.error.status,
            code: outcome.error.code,
            message: outcome.error.message,
          },
        }),
  };
}

function bounded(trace: ConditionTrace, secrets: readonly string[]): StoredConditionTrace {
  return {
    condition: trace.condition,
    held: trace.held,
    ...(trace.found === undefined
      ? {}
      : { found: trace.found.slice(0, MAX_FOUND_VALUES).map((v) => boundedValue(v, secrets)) }),
    ...(trace.children === undefined
      ? {}
      : { children: trace.children.map((c) => bounded(c, secrets)) }),
  };
}

function boundedValue(value: unknown, secrets: readonly string[]): unknown {
  const json = JSON.stringify(value) ?? 'null';
  if (secrets.some((secret) => json.includes(secret))) return '[redacted]';
  if (json.length <= MAX_FOUND_CHARS) return value;
  return `${json.slice(0, MAX_FOUND_CHARS)}…`;
}
