import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How a delivery ended, or what became of it when it was received (docs/operations.md). */
export type DeliveryOutcome = 'succeeded' | 'failed' | 'ignored' | 'queued' | 'dead' | 'replayed';
/** One execute call's result, by kind: never the upstream's text. */
export type ExecuteOutcome = 'ok' | 'http_4xx' | 'http_5xx' | 'timeout' | 'network';
/** Why a signature was refused: a fixed set, whatever the preset's message says. */
export type VerificationFailure = 'missing' | 'malformed' | 'mismatch' | 'stale' | 'replay';
export type CircuitState = 'closed' | 'half-open' | 'open';

/**
 * What the pipeline, the worker, the store and the limiter report. Every label value comes from
 * configuration (source, route and flow names of the mapping files) or from a fixed set: never
 * from a request, so the number of series is bounded by the mapping files.
 */
export interface Metrics {
  /** The app's own registry (not prom-client's global one); undefined when METRICS=off. */
  readonly registry: Registry | undefined;
  request(source: string, status: number, code: string, mode: string, seconds: number): void;
  verificationFailed(source: string, reason: VerificationFailure): void;
  delivery(source: string, outcome: DeliveryOutcome): void;
  execution(
    labels: { source: string; route: string; flow: string },
    outcome: ExecuteOutcome,
    seconds: number,
    retry: boolean,
  ): void;
  storeWrite(op: string, seconds: number): void;
  circuitChanged(flow: string, to: CircuitState): void;
  throttled(flow: string): void;
}

/** Answers in seconds: webhook senders give up after 3 s (Slack) to 30 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** One store write: group commit keeps most under a few ms; a slow disk shows past 100 ms. */
const WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export const CIRCUIT_VALUES: Readonly<Record<CircuitState, number>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
};

/** Metrics on a registry of their own, so several apps in one process (tests) never collide. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics & {
  readonly registry: Registry;
} {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'flowhook_requests_total',
    help: 'Hook requests answered, by source, HTTP status and error code (ok when none).',
    labelNames: ['source', 'status', 'code'],
    registers,
  });
  const requestDuration = new Histogram({
    name: 'flowhook_request_duration_seconds',
    help: 'Time from receiving a hook request to answering it.',
    labelNames: ['source', 'mode'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const verificationFailures = new Counter({
    name: 'flowhook_verification_failures_total',
    help: 'Requests refused 401 by signature verification, by reason.',
    labelNames: ['source', 'reason'],
    registers,
  });
  const deliveries = new Counter({
    name: 'flowhook_deliveries_total',
    help: 'Deliveries by outcome: final states, queued for later, and repeats answered again.',
    labelNames: ['source', 'outcome'],
    registers,
  });
  const executions = new Counter({
    name: 'flowhook_executions_total',
    help: 'Execute calls to the flow API, by outcome.',
    labelNames: ['source', 'route', 'flow', 'outcome'],
    registers,
  });
  const executeDuration = new Histogram({
    name: 'flowhook_execute_duration_seconds',
    help: 'Time of one execute call to the flow API.',
    labelNames: ['flow', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'flowhook_retries_total',
    help: 'Execute calls that were a retry of an earlier failed attempt of the same route.',
    labelNames: ['source', 'flow'],
    registers,
  });
  const storeWrites = new Histogram({
    name: 'flowhook_store_write_duration_seconds',
    help: 'Time of one delivery store write, until it is durable.',
    labelNames: ['op'],
    buckets: WRITE_BUCKETS,
    registers,
  });
  const circuitTransitions = new Counter({
    name: 'flowhook_circuit_transitions_total',
    help: "Changes of a flow's circuit breaker, by the state it went to.",
    labelNames: ['flow', 'to'],
    registers,
  });
  const throttles = new Counter({
    name: 'flowhook_flow_throttled_total',
    help: 'Times the flow API throttled a flow (429) and its deliveries were made to wait.',
    labelNames: ['flow'],
    registers,
  });
  return {
    registry,
    request(source, status, code, mode, seconds) {
      requests.inc({ source, status, code });
      requestDuration.observe({ source, mode }, seconds);
    },
    verificationFailed(source, reason) {
      verificationFailures.inc({ source, reason });
    },
    delivery(source, outcome) {
      deliveries.inc({ source, outcome });
    },
    execution({ source, route, flow }, outcome, seconds, retry) {
      executions.inc({ source, route, flow, outcome });
      executeDuration.observe({ flow, outcome }, seconds);
      if (retry) retries.inc({ source, flow });
    },
    storeWrite(op, seconds) {
      storeWrites.observe({ op }, seconds);
    },
    circuitChanged(flow, to) {
      circuitTransitions.inc({ flow, to });
    },
    throttled(flow) {
      throttles.inc({ flow });
    },
  };
}

/** METRICS=off: nothing is counted (and /metrics does not exist). */
export const NO_METRICS: Metrics = {
  registry: undefined,
  request: () => undefined,
  verificationFailed: () => undefined,
  delivery: () => undefined,
  execution: () => undefined,
  storeWrite: () => undefined,
  circuitChanged: () => undefined,
  throttled: () => undefined,
};

/** Gauges read at scrape time (queue, mappings, circuits, readiness): see scrape-gauges.ts. */
export function gauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  collect: (g: Gauge) => Promise<void> | void,
): Gauge {
  return new Gauge({
    name,
    help,
    labelNames: [...labelNames],
    registers: [registry],
    collect() {
      return collect(this);
    },
  });
}
