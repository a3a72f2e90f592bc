import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../deliveries/migrations';
import { createGroupCommit } from '../deliveries/sqlite-group-commit';
import type {
  BudgetDecision,
  BudgetRequest,
  CallOutcome,
  CircuitChange,
  CircuitSettings,
  CircuitState,
  FlowLimits,
  FlowStateView,
  LimitsStore,
  Pause,
  PauseKind,
  ThrottleChange,
  WaitReason,
} from './types';
import { PLATFORM_KEY } from './flow-key';

export interface SqliteLimitsOptions {
  readonly dataDir: string;
  /** The delivery store's file: the limits live in the same database. */
  readonly file?: string;
}

/** How long a delivery of a paused source or flow waits before it looks again (resume wakes it sooner). */
export const PAUSED_RECHECK_MS = 30_000;
/** A waiting delivery is never given a time further out than this: it looks again by then. */
const MAX_WAIT_MS = 60_000;
/** Backoff after a 429 without Retry-After: 1 s, 2 s, 4 s … up to this. */
const MAX_THROTTLE_MS = 60_000;
/** While a probe runs, the flow's other deliveries look again this often. */
const PROBE_RECHECK_MS = 1000;
/** The first guess of a call's duration, before one was measured. */
const FIRST_AVG_MS = 100;

interface StateRow {
  flow: string;
  tokens: number | null;
  refilled_at: number | null;
  park_until: number | null;
  avg_ms: number | null;
  blocked_until: number | null;
  throttles: number;
  circuit: CircuitState;
  changed_at: number | null;
  open_until: number | null;
  probe_until: number | null;
  window_start: number | null;
  window_calls: number;
  window_failures: number;
}

interface OrgRow {
  org: string;
  blocked_until: number | null;
  last_flow: string | null;
  last_until: number | null;
}

const STATE_COLUMNS = `flow, tokens, refilled_at, park_until, avg_ms, blocked_until, throttles,
  circuit, changed_at, open_until, probe_until, window_start, window_calls, window_failures`;

function freshState(flow: string): StateRow {
  return {
    flow,
    tokens: null,
    refilled_at: null,
    park_until: null,
    avg_ms: null,
    blocked_until: null,
    throttles: 0,
    circuit: 'closed',
    changed_at: null,
    open_until: null,
    probe_until: null,
    window_start: null,
    window_calls: 0,
    window_failures: 0,
  };
}

/**
 * The limits kept in the delivery store's SQLite file, on a connection of their own: every
 * write runs in an IMMEDIATE transaction (grouped per event-loop turn), so processes sharing the
 * file share every budget, circuit and pause. synchronous=NORMAL: a budget or circuit may forget its last change on a power loss
 * (not on a crash), which costs at most a few calls early; a pause is written the same way.
 */
export function openSqliteLimitsStore(options: SqliteLimitsOptions): LimitsStore {
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(path.resolve(options.dataDir, options.file ?? 'flowhook.db'));
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }

  const sql = {
    state: db.prepare<[string], StateRow>(
      `SELECT ${STATE_COLUMNS} FROM flow_states WHERE flow = ?`,
    ),
    saveState: db.prepare<StateRow>(
      `INSERT OR REPLACE INTO flow_states (${STATE_COLUMNS})
       VALUES (@flow, @tokens, @refilled_at, @park_until, @avg_ms, @blocked_until, @throttles,
         @circuit, @changed_at, @open_until, @probe_until, @window_start, @window_calls,
         @window_failures)`,
    ),
    org: db.prepare<[string], OrgRow>(
      `SELECT org, blocked_until, last_flow, last_until FROM org_states WHERE org = ?`,
    ),
    saveOrg: db.prepare<OrgRow>(
      `INSERT OR REPLACE INTO org_states (org, blocked_until, last_flow, last_until)
       VALUES (@org, @blocked_until, @last_flow, @last_until)`,
    ),
    running: db.prepare<{ flow: string; now: number; id: string }, { n: number }>(
      `SELECT count(*) AS n FROM flow_slots
       WHERE flow = @flow AND until > @now AND delivery_id <> @id`,
    ),
    takeSlot: db.prepare(
      `INSERT OR REPLACE INTO flow_slots (flow, delivery_id, owner, taken_at, until)
       VALUES (@flow, @id, @owner, @now, @until)`,
    ),
    releaseSlots: db.prepare<{ id: string; owner: string }, { flow: string; taken_at: number }>(
      `DELETE FROM flow_slots WHERE delivery_id = @id AND owner = @owner
       RETURNING flow, taken_at`,
    ),
    renewSlots: db.prepare(
      `UPDATE flow_slots SET until = @until WHERE delivery_id = @id AND owner = @owner`,
    ),
    expireSlots: db.prepare(`DELETE FROM flow_slots WHERE until <= ?`),
    paused: db.prepare<[string, string], { 1: number }>(
      `SELECT 1 FROM pauses WHERE kind = ? AND name = ?`,
    ),
    pause: db.prepare(
      `INSERT INTO pauses (kind, name, paused_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    resume: db.prepare(`DELETE FROM pauses WHERE kind = ? AND name = ?`),
    pauses: db.prepare<[], { kind: PauseKind; name: string; paused_at: number }>(
      `SELECT kind, name, paused_at FROM pauses ORDER BY kind, name`,
    ),
    states: db.prepare<[], StateRow>(`SELECT ${STATE_COLUMNS} FROM flow_states ORDER BY flow`),
    runningAll: db.prepare<[number], { flow: string; n: number }>(
      `SELECT flow, count(*) AS n FROM flow_slots WHERE until > ? GROUP BY flow`,
    ),
  };

  const stateOf = (flow: string): StateRow => sql.state.get(flow) ?? freshState(flow);

  /** The bucket's tokens now (refilled since its last use, never above the burst). */
  const tokensNow = (row: StateRow, rate: NonNullable<FlowLimits['rate']>, now: number) => {
    if (row.tokens === null || row.refilled_at === null) return rate.count;
    const refill = ((now - row.refilled_at) * rate.count) / rate.perMs;
    return Math.min(rate.count, row.tokens + Math.max(0, refill));
  };

  const acquire = db.transaction((request: BudgetRequest): BudgetDecision => {
    const { now } = request;
    if (sql.paused.get('source', request.source)) {
      return deny(now + PAUSED_RECHECK_MS, 'source_paused', request.source);
    }
    for (const flow of request.flows) {
      if (sql.paused.get('flow', flow.key))
        return deny(now + PAUSED_RECHECK_MS, 'flow_paused', flow.key);
    }
    const budgets = [
      ...request.flows,
      ...(request.platform.concurrency !== undefined || request.platform.rate !== undefined
        ? [{ key: PLATFORM_KEY, org: '', limits: request.platform }]
        : []),
    ];
    const rows = budgets.map((b) => stateOf(b.key));
    // The latest of the reasons to wait: asking before then is no use.
    const wait: { at: number; reason: WaitReason; on: string }[] = [];
    const later = (at: number, reason: WaitReason, on: string) => {
      if (wait.length === 0 || at > wait[0].at) wait[0] = { at, reason, on };
    };
    const probes: string[] = [];
    budgets.forEach((budget, i) => {
      const row = rows[i];
      if (row.blocked_until !== null && row.blocked_until > now)
        later(row.blocked_until, 'throttled', budget.key);
      const org = budget.org === '' ? undefined : sql.org.get(budget.org);
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
    const blocked = wait.at(0);
    if (blocked) return deny(Math.min(blocked.at, now + MAX_WAIT_MS), blocked.reason, blocked.on);
    // Room: a slot under the concurrency, a token in the bucket. A flow without room gives the
    // waiting delivery the next free time after the ones it already gave, spaced by how fast
    // the flow frees room, so the waiting deliveries come back one by one, not all at once.
    budgets.forEach((budget, i) => {
      const row = rows[i];
      const { concurrency, rate } = budget.limits;
      let full: WaitReason | undefined;
      let soonest = now;
      if (concurrency !== undefined) {
        const running = sql.running.get({ flow: budget.key, now, id: request.deliveryId })!.n;
        if (running >= concurrency) full = 'concurrency';
      }
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
      const at = Math.round(
        Math.min(now + MAX_WAIT_MS, Math.max(base, (row.park_until ?? 0) + spacing)),
      );
      row.park_until = at;
      sql.saveState.run(row);
      later(at, full, budget.key);
    });
    const full = wait.at(0);
    if (full) return deny(full.at, full.reason, full.on);
    budgets.forEach((budget, i) => {
      const row = rows[i];
      const { rate } = budget.limits;
      sql.takeSlot.run({
        flow: budget.key,
        id: request.deliveryId,
        owner: request.owner,
        now,
        until: request.until,
      });
      const probe = probes.includes(budget.key);
      if (rate === undefined && !probe) return;
      if (rate !== undefined) {
        row.tokens = tokensNow(row, rate, now) - 1;
        row.refilled_at = now;
      }
      if (probe) {
        row.circuit = 'half-open';
        row.changed_at = now;
        row.probe_until = request.until;
      }
      sql.saveState.run(row);
    });
    return { granted: true, probes };
  });

  const release = db.transaction((id: string, owner: string, now: number) => {
    for (const slot of sql.releaseSlots.all({ id, owner })) {
      const row = stateOf(slot.flow);
      const took = Math.max(1, now - slot.taken_at);
      // A moving mean of the recent calls: how fast this flow frees a slot.
      row.avg_ms = row.avg_ms === null ? took : row.avg_ms * 0.8 + took * 0.2;
      sql.saveState.run(row);
    }
    // Slots of killed holders are ignored once expired; drop them now and then.
    sql.expireSlots.run(now - MAX_WAIT_MS);
  });

  const record = db.transaction((outcome: CallOutcome, circuit: CircuitSettings) => {
    const now = outcome.at;
    const row = stateOf(outcome.key);
    const before = row.circuit;
    let throttle: ThrottleChange | undefined;
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
      const org = sql.org.get(outcome.org) ?? {
        org: outcome.org,
        blocked_until: null,
        last_flow: null,
        last_until: null,
      };
      if (org.last_flow !== null && org.last_flow !== outcome.key && (org.last_until ?? 0) > now) {
        org.blocked_until = Math.max(org.blocked_until ?? 0, until);
        throttle = { ...throttle, org: outcome.org, until: org.blocked_until };
      }
      org.last_flow = outcome.key;
      org.last_until = until;
      sql.saveOrg.run(org);
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
    sql.saveState.run(row);
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
    return { ...(change ? { circuit: change } : {}), ...(throttle ? { throttle } : {}) };
  });

  const run = <T>(work: () => T): Promise<T> => {
    try {
      if (!db.open) throw new Error('the limits store is closed');
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error as Error);
    }
  };

  // The writes every call makes (a budget taken, slots given back, an outcome counted) share one
  // transaction per turn of the event loop, as the delivery store's do: three commits per
  // delivery were a tenth of a sync request's CPU (issue 15). Each runs in its own savepoint,
  // in order, inside one IMMEDIATE transaction, so each still decides on what the ones before
  // it wrote, and other processes see a group whole. It settles after the commit.
  const writes = createGroupCommit(db);
  const write = <T>(work: () => T): Promise<T> =>
    db.open ? writes.write(work) : run(() => work());

  return {
    acquire: (request) => write(() => acquire(request)),
    release: (id, owner, now) => write(() => release(id, owner, now)),
    renew: (id, owner, until) =>
      write(() => {
        sql.renewSlots.run({ id, owner, until });
      }),
    record: (outcome, circuit) => write(() => record(outcome, circuit)),
    pause: (kind, name, now) => run(() => sql.pause.run(kind, name, now).changes === 1),
    resume: (kind, name) => run(() => sql.resume.run(kind, name).changes === 1),
    pauses: () =>
      run(() =>
        sql.pauses.all().map((p): Pause => ({ kind: p.kind, name: p.name, pausedAt: p.paused_at })),
      ),
    flows: (now) =>
      run(() => {
        const running = new Map(sql.runningAll.all(now).map((r) => [r.flow, r.n]));
        const rows = sql.states.all();
        const known = new Set(rows.map((r) => r.flow));
        for (const flow of running.keys()) if (!known.has(flow)) rows.push(freshState(flow));
        return rows.map((row): FlowStateView => ({
          flow: row.flow,
          circuit: row.circuit,
          circuitChangedAt: row.changed_at,
          openUntil: row.circuit === 'open' ? row.open_until : null,
          blockedUntil: (row.blocked_until ?? 0) > now ? row.blocked_until : null,
          running: running.get(row.flow) ?? 0,
          tokens: row.tokens,
          windowCalls: row.window_calls,
          windowFailures: row.window_failures,
        }));
      }),
    close: () =>
      run(() => {
        if (!db.open) return;
        // Queued writes first: a caller may be awaiting one.
        writes.drain();
        db.close();
      }),
  };
}

function deny(retryAt: number, reason: WaitReason, on: string): BudgetDecision {
  return { granted: false, retryAt, reason, on };
}
