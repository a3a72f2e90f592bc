import type { Rate } from './parse-rate';

/** `limits:` as written in a mapping file (per route, or for the whole source). */
export interface LimitsDef {
  concurrency?: number;
  rate?: string;
}

/** What one flow may take of the platform; a missing field is no limit. */
export interface FlowLimits {
  /** Execute calls of the flow at once, across every instance sharing the store. */
  readonly concurrency?: number;
  /** A token bucket: `count` calls per `perMs`, with a burst of `count`. */
  readonly rate?: Rate;
}

/** A route's limits and where they were written (for the load error that names both places). */
export interface DeclaredLimits extends FlowLimits {
  /** `routes[2].limits` or `limits` (the source's defaults). */
  readonly declaredAt: string;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/** Why a delivery waits instead of running now. */
export type WaitReason =
  | 'source_paused'
  | 'flow_paused'
  | 'circuit_open'
  | 'throttled'
  | 'org_throttled'
  | 'concurrency'
  | 'rate';

export interface BudgetRequest {
  readonly deliveryId: string;
  readonly source: string;
  /** The delivery's flows (flowKey) with the limits that apply to each now. */
  readonly flows: readonly {
    readonly key: string;
    readonly org: string;
    readonly limits: FlowLimits;
  }[];
  /** FLOW_MAX_CONCURRENCY and FLOW_RATE: a budget every call takes from too. */
  readonly platform: FlowLimits;
  /** The delivery's holder, and when its hold (lease) ends: slots expire with it. */
  readonly owner: string;
  readonly until: number;
  readonly now: number;
}

export type BudgetDecision =
  | {
      readonly granted: true;
      /** Flows whose open circuit lets this delivery through as the one probe. */
      readonly probes: readonly string[];
    }
  | {
      readonly granted: false;
      /** When it is worth asking again. */
      readonly retryAt: number;
      readonly reason: WaitReason;
      /** The flow (or source) that has no room. */
      readonly on: string;
    };

/** What one execute call told about its flow's health. */
export interface CallOutcome {
  readonly key: string;
  readonly org: string;
  /**
   * succeeded: any answer that is not a failure (a 4xx refusal says the platform is up);
   * failed: 5xx, network error, timeout (they count for the circuit); throttled: 429.
   */
  readonly kind: 'succeeded' | 'failed' | 'throttled';
  readonly retryAfterMs?: number;
  readonly durationMs?: number;
  readonly at: number;
}

export interface CircuitChange {
  readonly flow: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** The window's counts when it opened. */
  readonly calls?: number;
  readonly failures?: number;
}

export interface ThrottleChange {
  readonly flow: string;
  readonly until: number;
  /** The whole org was blocked (429s from several of its flows). */
  readonly org?: string;
}

/** What a call's outcome changed, as `record` tells its caller: the circuit, the 429's block. */
export interface OutcomeChanges {
  readonly circuit?: CircuitChange;
  readonly throttle?: ThrottleChange;
}

export type PauseKind = 'source' | 'flow';

export interface Pause {
  readonly kind: PauseKind;
  /** A source name, or a flowKey. */
  readonly name: string;
  readonly pausedAt: number;
}

/** A flow's shared state, for the admin API and metrics. */
export interface FlowStateView {
  readonly flow: string;
  readonly circuit: CircuitState;
  readonly circuitChangedAt: number | null;
  readonly openUntil: number | null;
  readonly blockedUntil: number | null;
  readonly running: number;
  readonly tokens: number | null;
  readonly windowCalls: number;
  readonly windowFailures: number;
}

export interface CircuitSettings {
  /** Share of failed calls (0–1) in a window that opens the circuit. */
  readonly failureRatio: number;
  readonly windowMs: number;
  readonly minCalls: number;
  readonly coolDownMs: number;
}

/**
 * The shared state of every budget, circuit and pause. Kept in the delivery store's database, so
 * every process using that database sees one budget per flow; every method is one atomic write
 * (or read) with its condition inside it, like the delivery store's.
 */
export interface LimitsStore {
  /**
   * All or nothing, atomically: when every flow of the delivery has room (not paused, circuit
   * closed or its probe free, no 429 block, a concurrency slot, a rate token), takes a slot and a
   * token of each and grants; otherwise takes nothing and says when to ask again.
   */
  acquire(request: BudgetRequest): Promise<BudgetDecision>;
  /** Gives back the delivery's slots (held by `owner`); its call times feed the spacing. */
  release(deliveryId: string, owner: string, now: number): Promise<void>;
  /** Keeps the delivery's slots while its lease is renewed. */
  renew(deliveryId: string, owner: string, until: number): Promise<void>;
  /** Counts a call for the circuit and applies a 429; returns what changed, for the log. */
  record(outcome: CallOutcome, circuit: CircuitSettings): Promise<OutcomeChanges>;
  /** True when it changed something (pausing a paused target is a no-op). */
  pause(kind: PauseKind, name: string, now: number): Promise<boolean>;
  resume(kind: PauseKind, name: string): Promise<boolean>;
  pauses(): Promise<Pause[]>;
  flows(now: number): Promise<FlowStateView[]>;
  close(): Promise<void>;
}
