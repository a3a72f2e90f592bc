/**
 * The name a flow's budget, circuit and pause are kept under: org and flow id, each URL-encoded so
 * a `/` inside an id cannot make two flows one. Every route, source and instance that executes the
 * same flow in the same org uses the same key.
 */
export function flowKey(orgId: string, flowId: string): string {
  return `${encodeURIComponent(orgId)}/${encodeURIComponent(flowId)}`;
}

/** The budget FLOW_MAX_CONCURRENCY and FLOW_RATE fill: every execute call, whatever its flow. */
export const PLATFORM_KEY = '*';
