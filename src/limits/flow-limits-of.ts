import type { MappingSet } from '../mappings/types';
import { flowKey } from './flow-key';
import type { FlowLimits } from './types';

const tables = new WeakMap<MappingSet, Map<string, FlowLimits>>();

/**
 * Each limited flow's limits, by flowKey, from the loaded mappings (built once per mapping set).
 * A route without an org runs in FLOW_ORG_ID's org; when a route that names that org explicitly
 * declares other limits for the same flow (the load check compares them as different orgs), the
 * stricter of each limit applies.
 */
export function flowLimitsOf(
  set: MappingSet,
  defaultOrgId: string | undefined,
): Map<string, FlowLimits> {
  const cached = tables.get(set);
  if (cached) return cached;
  const table = new Map<string, FlowLimits>();
  for (const source of set.sources.values()) {
    for (const route of source.routes) {
      if (!route.limits) continue;
      const key = flowKey(route.orgId ?? defaultOrgId ?? '{FLOW_ORG_ID}', route.flowId);
      const { concurrency, rate } = route.limits;
      const earlier = table.get(key);
      const stricterRate =
        earlier?.rate &&
        (!rate || earlier.rate.count / earlier.rate.perMs < rate.count / rate.perMs)
          ? earlier.rate
          : rate;
      const stricterConcurrency = Math.min(
        concurrency ?? Infinity,
        earlier?.concurrency ?? Infinity,
      );
      table.set(key, {
        ...(Number.isFinite(stricterConcurrency) ? { concurrency: stricterConcurrency } : {}),
        ...(stricterRate ? { rate: stricterRate } : {}),
      });
    }
  }
  tables.set(set, table);
  return table;
}
