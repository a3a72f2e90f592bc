import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../deliveries/migrations';
import { createGroupCommit } from '../deliveries/sqlite-group-commit';
import { applyOutcome } from './apply-outcome';
import { budgetsOf, decideAcquire } from './decide-acquire';
import { freshOrg, freshState, STATE_COLUMNS, type OrgRow, type StateRow } from './limit-rows';
import { MAX_WAIT_MS } from './limit-timings';
import { flowStateViews } from './flow-state-views';
import type {
  BudgetDecision,
  BudgetRequest,
  CallOutcome,
  CircuitSettings,
  LimitsStore,
  Pause,
  PauseKind,
} from './types';

export { PAUSED_RECHECK_MS } from './limit-timings';

export interface SqliteLimitsOptions {
  readonly dataDir: string;
  /** The delivery store's file: the limits live in the same database. */
  readonly file?: string;
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

  const acquire = db.transaction((request: BudgetRequest): BudgetDecision => {
    const budgets = budgetsOf(request);
    const orgs = new Map<string, OrgRow>();
    for (const { org } of budgets) {
      const row = org === '' ? undefined : sql.org.get(org);
      if (row) orgs.set(org, row);
    }
    const plan = decideAcquire(request, {
      sourcePaused: sql.paused.get('source', request.source) !== undefined,
      pausedFlows: new Set(
        request.flows.filter((f) => sql.paused.get('flow', f.key)).map((f) => f.key),
      ),
      states: new Map(budgets.map((b) => [b.key, stateOf(b.key)])),
      orgs,
      running: new Map(
        budgets.map((b) => [
          b.key,
          sql.running.get({ flow: b.key, now: request.now, id: request.deliveryId })!.n,
        ]),
      ),
    });
    for (const row of plan.save) sql.saveState.run(row);
    for (const flow of plan.slots) {
      sql.takeSlot.run({
        flow,
        id: request.deliveryId,
        owner: request.owner,
        now: request.now,
        until: request.until,
      });
    }
    return plan.decision;
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
    const plan = applyOutcome(
      stateOf(outcome.key),
      sql.org.get(outcome.org) ?? freshOrg(outcome.org),
      outcome,
      circuit,
    );
    sql.saveState.run(plan.state);
    if (plan.org) sql.saveOrg.run(plan.org);
    return {
      ...(plan.circuit ? { circuit: plan.circuit } : {}),
      ...(plan.throttle ? { throttle: plan.throttle } : {}),
    };
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
      run(() =>
        flowStateViews(
          sql.states.all(),
          new Map(sql.runningAll.all(now).map((r) => [r.flow, r.n])),
          now,
        ),
      ),
    close: () =>
      run(() => {
        if (!db.open) return;
        // Queued writes first: a caller may be awaiting one.
        writes.drain();
        db.close();
      }),
  };
}
