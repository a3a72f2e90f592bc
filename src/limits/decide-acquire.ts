import { PLATFORM_KEY } from './flow-key';
import type { OrgRow, StateRow } from './limit-rows';
import { FIRST_AVG_MS, MAX_WAIT_MS, PAUSED_RECHECK_MS, PROBE_RECHECK_MS } from './limit-timings';
import type { BudgetDecision, BudgetRequest, FlowLimits, WaitReason } from './types';

/** What an acquire reads, inside the transaction that holds its flows. */
export interface AcquireFacts {
  readonly sourcePaused: boolean;
  readonly pausedFlows: ReadonlySet<string>;
  /** The state of every budget asked for (a fresh row for one never seen). */
  readonly states: ReadonlyMap<string, StateRow>;
  readonly orgs: ReadonlyMap<string, OrgRow>;
  /**
   * Unexpired slots per budget with a concurrency limit (no other budget is counted), not
   * counting the asking delivery's own.
   */
  readonly running: ReadonlyMap<string, number>;
}

export interface AcquirePlan {
  readonly decision: BudgetDecision;
  /** Rows changed (a waiting time handed out, a token taken, a probe let through): write back. */
  readonly save: readonly StateRow[];
  /**
   * When granted: the budgets the delivery takes a slot of, those with a concurrency limit (only
   * a concurrency limit counts slots, and only it uses the mean call time a release measures).
   */
  readonly slots: readonly string[];
}

interface Wait {
  readonly at: number;
  readonly reason: WaitReason;
  readonly on: string;
}

export interface Budget {
  readonly key: string;
  readonly org: string;
  readonly limits: FlowLimits;
}

/** The delivery's flows, plus the platform-wide budget when FLOW_MAX_CONCURRENCY or FLOW_RATE is set. */
export function budgetsOf(request: BudgetRequest): Budget[] {
  const { concurrency, rate } = request.platform;
  return [
    ...request.flows,
    ...(concurrency !== undefined || rate !== undefined
      ? [{ key: PLATFORM_KEY, org: '', limits: request.platform }]
      : []),
  ];
}

/**
 * No budget of the delivery has a concurrency or rate limit: its acquire only reads (paused?
 * circuit open? throttled?), takes no slot and no token, and writes only to let a probe through.
 */
export function unlimited(budgets: readonly Budget[]): boolean {
  return budgets.every((b) => b.limits.concurrency === undefined && b.limits.rate === undefined);
}

/** The bucket's tokens now (refilled since its last use, never above the burst). */
function tokensNow(row: StateRow, rate: NonNullable<FlowLimits['rate']>, now: number): number {
  if (row.tokens === null || row.refilled_at === null) return rate.count;
  const refill = ((now - row.refilled_at) * rate.count) / rate.perMs;
  return Math.min(rate.count, row.tokens + Math.max(0, refill));
}

/**
 * The one decision both limits stores make, as a pure function of what they read: all or
 * nothing, so a delivery either gets room in every budget or takes none and is told when to ask
 * again. The store runs it inside the transaction that read the facts and writes the plan there.
 */
export function decideAcquire(request: BudgetRequest, facts: AcquireFacts): AcquirePlan {
  const { now } = request;
  if (facts.sourcePaused) return denied(now + PAUSED_RECHECK_MS, 'source_paused', request.source);
  for (const flow of request.flows) {
    if (facts.pausedFlows.has(flow.key))
      return denied(now + PAUSED_RECHECK_MS, 'flow_paused', flow.key);
  }
  const budgets = budgetsOf(request);
  const rows = budgets.map((b) => ({ ...(facts.states.get(b.key) as StateRow) }));
  const save = new Set<StateRow>();
  // The latest of the reasons to wait: asking before then is no use.
  let wait: Wait | undefined;
  const later = (at: number, reason: WaitReason, on: string) => {
    if (wait === undefined || at > wait.at) wait = { at, reason, on };
  };
  const probes: string[] = [];
  budgets.forEach((budget, i) => {
    const row = rows[i];
    if (row.blocked_until !== null && row.blocked_until > now)
      later(row.blocked_until, 'throttled', budget.key);
    const org = budget.org === '' ? undefined : facts.orgs.get(budget.org);
    if (org && org.blocked_until !== null && org.blocked_until > now)
      later(org.blocked_until, 'org_throttled', budget.org);
    if (row.circuit === 'open' && (row.open_until ?? 0) > now)
      later(row.open_until as number, 'circuit_open', budget.key);
    else if (row.circuit === 'half-open' && (row.probe_until ?? 0) > now)
      // The probe usually answers long before its lease ends: look again soon.
      later(
        Math.min(row.probe_until as number, now + PROBE_RECHECK_MS),
        'circuit_open',
        budget.key,
      );
    else if (row.circuit !== 'closed') probes.push(budget.key);
  });
  const blocked = wait as Wait | undefined;
  if (blocked) return denied(Math.min(blocked.at, now + MAX_WAIT_MS), blocked.reason, blocked.on);
  // Room: a slot under the concurrency, a token in the bucket. A flow without room gives the
  // waiting delivery the next free time after the ones it already gave, spaced by how fast the
  // flow frees room, so the waiting deliveries come back one by one, not all at once.
  budgets.forEach((budget, i) => {
    const row = rows[i];
    const { concurrency, rate } = budget.limits;
    let full: WaitReason | undefined;
    let soonest = now;
    if (concurrency !== undefined && (facts.running.get(budget.key) ?? 0) >= concurrency)
      full = 'concurrency';
    if (rate !== undefined) {
      const tokens = tokensNow(row, rate, now);
      if (tokens < 1) {
        full ??= 'rate';
        soonest = now + Math.ceil(((1 - tokens) * rate.perMs) / rate.count);
      }
    }
    if (full === undefined) return;
    const spacing = Math.max(
      1,
      rate ? rate.perMs / rate.count : 0,
      concurrency ? (row.avg_ms ?? FIRST_AVG_MS) / concurrency : 0,
    );
    const base = Math.max(soonest, now + (full === 'concurrency' ? spacing : 0));
    row.park_until = Math.round(
      Math.min(now + MAX_WAIT_MS, Math.max(base, (row.park_until ?? 0) + spacing)),
    );
    save.add(row);
    later(row.park_until, full, budget.key);
  });
  const full = wait as Wait | undefined;
  if (full) return { ...denied(full.at, full.reason, full.on), save: [...save] };
  budgets.forEach((budget, i) => {
    const row = rows[i];
    const { rate } = budget.limits;
    if (rate !== undefined) {
      row.tokens = tokensNow(row, rate, now) - 1;
      row.refilled_at = now;
      save.add(row);
    }
    if (probes.includes(budget.key)) {
      row.circuit = 'half-open';
      row.changed_at = now;
      row.probe_until = request.until;
      save.add(row);
    }
  });
  return {
    decision: { granted: true, probes },
    save: [...save],
    slots: budgets.filter((b) => b.limits.concurrency !== undefined).map((b) => b.key),
  };
}

function denied(retryAt: number, reason: WaitReason, on: string): AcquirePlan {
  return { decision: { granted: false, retryAt, reason, on }, save: [], slots: [] };
}
