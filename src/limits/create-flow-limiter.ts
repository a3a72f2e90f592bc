import type { DeliveryRecord } from '../deliveries/types';
import type { Logger } from '../logger';
import type { MappingSet } from '../mappings/types';
import { flowLabel } from '../observability/flow-label';
import type { Metrics } from '../observability/metrics';
import { flowKey } from './flow-key';
import { flowLimitsOf } from './flow-limits-of';
import type {
  BudgetDecision,
  CallOutcome,
  CircuitSettings,
  FlowLimits,
  LimitsStore,
} from './types';

export interface FlowLimiterOptions {
  readonly store: LimitsStore;
  readonly mappings: () => MappingSet;
  /** FLOW_ORG_ID: the org of routes that name none. */
  readonly defaultOrgId: string | undefined;
  /** FLOW_MAX_CONCURRENCY and FLOW_RATE. */
  readonly platform: FlowLimits;
  readonly circuit: CircuitSettings;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Circuit changes and throttles counted (/metrics). */
  readonly metrics?: Metrics;
}

export interface FlowLimiter {
  readonly store: LimitsStore;
  /** FLOW_MAX_CONCURRENCY and FLOW_RATE. */
  readonly platform: FlowLimits;
  /**
   * Room for every flow of the delivery now (taken when granted), or when to ask again. Fails
   * open: when the limits cannot be read, the delivery runs (and the failure is logged).
   */
  acquire(
    record: Pick<DeliveryRecord, 'id' | 'source' | 'routes'>,
    owner: string,
    until: number,
  ): Promise<BudgetDecision>;
  /** The delivery's run ended (whatever its outcome): its slots are free. Never rejects. */
  release(deliveryId: string, owner: string): Promise<void>;
  /** The delivery's lease was renewed: its slots last as long. Never rejects. */
  renew(deliveryId: string, owner: string, until: number): Promise<void>;
  /** What one execute call said about its flow (circuit, 429). Never rejects. */
  observe(
    orgId: string,
    flowId: string,
    outcome: Omit<CallOutcome, 'key' | 'org' | 'at'>,
  ): Promise<void>;
  /** The limits that apply to a flow now. */
  limitsOf(orgId: string, flowId: string): FlowLimits;
}

/**
 * Applies the limits of the loaded mappings and the environment to deliveries, through the
 * shared limits store: the worker asks before it runs a delivery, the flow client reports each
 * call's outcome. Circuit changes and org-wide throttling are logged here.
 */
export function createFlowLimiter(options: FlowLimiterOptions): FlowLimiter {
  const now = options.now ?? Date.now;
  const { store, logger } = options;
  const limitsOf = (orgId: string, flowId: string): FlowLimits =>
    flowLimitsOf(options.mappings(), options.defaultOrgId).get(flowKey(orgId, flowId)) ?? {};

  return {
    store,
    platform: options.platform,
    limitsOf,
    async acquire(record, owner, until) {
      // One entry per flow: a fan-out with two routes to one flow takes one slot of it.
      const flows = new Map<string, { key: string; org: string; limits: FlowLimits }>();
      for (const route of record.routes) {
        const key = flowKey(route.orgId, route.flowId);
        flows.set(key, { key, org: route.orgId, limits: limitsOf(route.orgId, route.flowId) });
      }
      try {
        const decision = await store.acquire({
          deliveryId: record.id,
          source: record.source,
          flows: [...flows.values()],
          platform: options.platform,
          owner,
          until,
          now: now(),
        });
        for (const flow of decision.granted ? decision.probes : []) {
          const label = flowLabel(flow);
          if (label !== undefined) options.metrics?.circuitChanged(label, 'half-open');
          logger.warn(
            { flow, circuit: 'half-open', deliveryId: record.id },
            'circuit half-open: one probe delivery goes through',
          );
        }
        return decision;
      } catch (error) {
        logger.error(
          { err: error, deliveryId: record.id },
          'the limits store failed; the delivery runs without its limits',
        );
        return { granted: true, probes: [] };
      }
    },
    async release(deliveryId, owner) {
      await store
        .release(deliveryId, owner, now())
        .catch((error: unknown) =>
          logger.error(
            { err: error, deliveryId },
            "releasing a delivery's flow slots failed; they free themselves when its lease ends",
          ),
        );
    },
    async renew(deliveryId, owner, until) {
      await store
        .renew(deliveryId, owner, until)
        .catch((error: unknown) =>
          logger.error({ err: error, deliveryId }, "renewing a delivery's flow slots failed"),
        );
    },
    async observe(orgId, flowId, outcome) {
      const key = flowKey(orgId, flowId);
      try {
        const changed = await store.record(
          { ...outcome, key, org: orgId, at: now() },
          options.circuit,
        );
        if (changed.circuit) {
          const { from, to, calls, failures } = changed.circuit;
          options.metrics?.circuitChanged(flowId, to);
          const line = {
            flow: key,
            circuit: to,
            from,
            ...(calls === undefined ? {} : { calls, failures }),
          };
          if (to === 'open')
            logger.error(
              line,
              from === 'half-open'
                ? 'circuit open again: the probe failed; the flow gets no calls until the next probe'
                : `circuit open: ${failures} of ${calls} calls failed; the flow gets no calls until the probe`,
            );
          else logger.warn(line, 'circuit closed: the probe succeeded; the flow runs again');
        }
        if (changed.throttle) {
          const { until, org } = changed.throttle;
          options.metrics?.throttled(flowId);
          logger.warn(
            { flow: key, ...(org ? { org } : {}), until: new Date(until).toISOString() },
            org
              ? 'the flow API throttled the org (429 from several of its flows): its flows wait'
              : 'the flow API throttled the flow (429): its deliveries wait',
          );
        }
      } catch (error) {
        logger.error({ err: error, flow: key }, 'recording a call in the limits store failed');
      }
    },
  };
}
