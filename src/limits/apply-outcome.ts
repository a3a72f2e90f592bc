import type { OrgRow, StateRow } from './limit-rows';
import { MAX_THROTTLE_MS } from './limit-timings';
import type {
  CallOutcome,
  CircuitChange,
  CircuitSettings,
  OutcomeChanges,
  ThrottleChange,
} from './types';

export interface OutcomePlan {
  readonly state: StateRow;
  /** Written back only after a 429 (the org's block and its last throttled flow). */
  readonly org?: OrgRow;
  readonly circuit?: CircuitChange;
  readonly throttle?: ThrottleChange;
}

/**
 * What one call's outcome does to its flow (and org), as a pure function of their rows: the 429
 * block and its backoff, the org-wide block, the circuit's window, opening, probe verdict. Both
 * limits stores run it inside the transaction that read the rows, and write back what it returns.
 */
export function applyOutcome(
  current: StateRow,
  currentOrg: OrgRow,
  outcome: CallOutcome,
  circuit: CircuitSettings,
): OutcomePlan {
  const now = outcome.at;
  const row = { ...current };
  const before = row.circuit;
  let throttle: ThrottleChange | undefined;
  let org: OrgRow | undefined;
  if (outcome.kind === 'throttled') {
    row.throttles += 1;
    const waitMs =
      outcome.retryAfterMs ?? Math.min(MAX_THROTTLE_MS, 1000 * 2 ** (row.throttles - 1));
    const until = now + waitMs;
    row.blocked_until = Math.max(row.blocked_until ?? 0, until);
    throttle = { flow: outcome.key, until: row.blocked_until };
    // The probe ended without a verdict: another may go once the block is over.
    if (row.circuit === 'half-open') row.probe_until = null;
    // 429s from two flows of one org within each other's block: the org is throttled as a
    // whole, so all of its flows wait.
    org = { ...currentOrg };
    if (org.last_flow !== null && org.last_flow !== outcome.key && (org.last_until ?? 0) > now) {
      org.blocked_until = Math.max(org.blocked_until ?? 0, until);
      throttle = { ...throttle, org: outcome.org, until: org.blocked_until };
    }
    org.last_flow = outcome.key;
    org.last_until = until;
  } else {
    if (outcome.kind === 'succeeded') row.throttles = 0;
    const failed = outcome.kind === 'failed';
    if (row.circuit === 'half-open') {
      // The probe's verdict.
      row.circuit = failed ? 'open' : 'closed';
      row.changed_at = now;
      row.probe_until = null;
      row.open_until = failed ? now + circuit.coolDownMs : null;
      row.window_start = now;
      row.window_calls = 0;
      row.window_failures = 0;
    } else if (row.circuit === 'closed') {
      if (row.window_start === null || now - row.window_start >= circuit.windowMs) {
        row.window_start = now;
        row.window_calls = 0;
        row.window_failures = 0;
      }
      row.window_calls += 1;
      if (failed) row.window_failures += 1;
      if (
        row.window_calls >= circuit.minCalls &&
        row.window_failures >= circuit.failureRatio * row.window_calls
      ) {
        row.circuit = 'open';
        row.changed_at = now;
        row.open_until = now + circuit.coolDownMs;
      }
    }
    // open: a call that started before the circuit opened; it changes nothing.
  }
  const change: CircuitChange | undefined =
    row.circuit === before
      ? undefined
      : {
          flow: outcome.key,
          from: before,
          to: row.circuit,
          ...(row.circuit === 'open' && before === 'closed'
            ? { calls: row.window_calls, failures: row.window_failures }
            : {}),
        };
  return {
    state: row,
    ...(org ? { org } : {}),
    ...(change ? { circuit: change } : {}),
    ...(throttle ? { throttle } : {}),
  };
}

/**
 * The rows of one turn of outcomes (each flow's and org's read once, written once at the end), and
 * the orgs a 429 changed (the only ones written).
 */
export interface OutcomeTurn {
  readonly states: Map<string, StateRow>;
  readonly orgs: Map<string, OrgRow>;
  readonly changedOrgs: Set<string>;
}

/**
 * One outcome of a turn, applied to the turn's rows in the order the outcomes came (as one
 * `record` each would): its flow's row as the earlier outcomes left it, its org's (a 429 only).
 * Both limits stores fold a turn with it, then write back `turn.states` and `turn.changedOrgs`.
 */
export function applyToTurn(
  turn: OutcomeTurn,
  state: StateRow,
  org: OrgRow,
  outcome: CallOutcome,
  circuit: CircuitSettings,
): OutcomeChanges {
  const plan = applyOutcome(state, org, outcome, circuit);
  turn.states.set(outcome.key, plan.state);
  if (plan.org) {
    turn.orgs.set(plan.org.org, plan.org);
    turn.changedOrgs.add(plan.org.org);
  }
  return {
    ...(plan.circuit ? { circuit: plan.circuit } : {}),
    ...(plan.throttle ? { throttle: plan.throttle } : {}),
  };
}
