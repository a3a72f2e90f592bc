import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../deliveries/migrations';
import { createGroupCommit } from '../deliveries/sqlite-group-commit';
import { setWalPragmas, type SharedSqlite } from '../deliveries/shared-sqlite';
import { applyToTurn, type OutcomeTurn } from './apply-outcome';
import {
  budgetsOf,
  decideAcquire,
  unlimited,
  type AcquireFacts,
  type AcquirePlan,
  type Budget,
} from './decide-acquire';
import { rowFrom, valuesIn } from '../deliveries/sqlite-rows';
import {
  freshOrg,
  freshState,
  STATE_COLUMN_LIST,
  STATE_COLUMNS,
  type OrgRow,
  type StateRow,
} from './limit-rows';
import { MAX_WAIT_MS } from './limit-timings';
import { flowStateViews } from './flow-state-views';
import type {
  BudgetDecision,
  BudgetRequest,
  CallOutcome,
  CircuitSettings,
  LimitsStore,
  OutcomeChanges,
  Pause,
  PauseKind,
} from './types';

export { PAUSED_RECHECK_MS } from './limit-timings';

export interface SqliteLimitsOptions {
  readonly dataDir: string;
  /** The delivery store's file: the limits live in the same database. */
  readonly file?: string;
  /**
   * The delivery store's connection and group commit (shared-sqlite.ts): used instead of a
   * connection of its own, which the delivery store owns (closes, and migrated).
   */
  readonly connection?: SharedSqlite;
}

/**
 * The limits kept in the delivery store's SQLite file, on the delivery store's connection (the
 * server, see openLimitsStore) or on one of their own (opened alone): every write runs in an
 * IMMEDIATE transaction (grouped per event-loop turn, with the deliveries' writes on a shared
 * connection), so processes sharing the file share every budget, circuit and pause. A write
 * resolves at its commit, without an fsync: a budget or circuit may forget its last change on a
 * power loss (not on a crash), which costs at most a few calls early; a pause is written the
 * same way.
 *
 * A delivery whose flows have neither a concurrency nor a rate limit (the default) costs no
 * write of its own: its acquire is a read (with the others of its turn, in one read
 * transaction), it takes no slot so its release only looks, and its call's outcome is counted
 * with the others of its turn in one write. The same as the PostgreSQL store (issue 15).
 */
export function openSqliteLimitsStore(options: SqliteLimitsOptions): LimitsStore {
  const shared = options.connection;
  const db = shared?.db ?? openOwnConnection(options);
  /** close() was called (a shared connection stays open for the delivery store). */
  let closed = false;
  const isOpen = () => !closed && db.open;

  const sql = {
    // A raw row and positional parameters: read and written once per turn (sqlite-rows.ts).
    state: db
      .prepare<[string], unknown[]>(`SELECT ${STATE_COLUMNS} FROM flow_states WHERE flow = ?`)
      .raw(),
    saveState: db.prepare<unknown[]>(
      `INSERT OR REPLACE INTO flow_states (${STATE_COLUMNS})
       VALUES (${STATE_COLUMN_LIST.map(() => '?').join(', ')})`,
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
    holds: db
      .prepare<[string, string], 1>(
        `SELECT 1 FROM flow_slots WHERE delivery_id = ? AND owner = ? LIMIT 1`,
      )
      .pluck(),
    renewSlots: db.prepare(
      `UPDATE flow_slots SET until = @until WHERE delivery_id = @id AND owner = @owner`,
    ),
    anySlot: db.prepare<[], 1>(`SELECT 1 FROM flow_slots LIMIT 1`).pluck(),
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

  const stateOf = (flow: string): StateRow => {
    const values = sql.state.get(flow);
    return values ? rowFrom<StateRow>(STATE_COLUMN_LIST, values) : freshState(flow);
  };
  const saveState = (row: StateRow) => sql.saveState.run(...valuesIn(STATE_COLUMN_LIST, row));

  /**
   * What decideAcquire reads: pauses, states and orgs (each read once per `seen`, the reads of
   * one turn), and the running slots of the budgets with a concurrency limit (`counted`).
   */
  const factsOf = (
    request: BudgetRequest,
    budgets: readonly Budget[],
    seen: TurnReads,
    counted: boolean,
  ): AcquireFacts => {
    const once = <T>(cache: Map<string, T>, key: string, read: () => T): T => {
      if (cache.has(key)) return cache.get(key) as T;
      const value = read();
      cache.set(key, value);
      return value;
    };
    const orgs = new Map<string, OrgRow>();
    for (const { org } of budgets) {
      const row = org === '' ? undefined : once(seen.orgs, org, () => sql.org.get(org));
      if (row) orgs.set(org, row);
    }
    const paused = (kind: PauseKind, name: string) =>
      once(seen.pauses, `${kind}:${name}`, () => sql.paused.get(kind, name) !== undefined);
    return {
      sourcePaused: paused('source', request.source),
      pausedFlows: new Set(request.flows.filter((f) => paused('flow', f.key)).map((f) => f.key)),
      states: new Map(budgets.map((b) => [b.key, once(seen.states, b.key, () => stateOf(b.key))])),
      orgs,
      running: new Map(
        counted
          ? budgets
              .filter((b) => b.limits.concurrency !== undefined)
              .map((b) => [
                b.key,
                sql.running.get({ flow: b.key, now: request.now, id: request.deliveryId })!.n,
              ])
          : [],
      ),
    };
  };

  /** An acquire that writes: under the write lock, its plan saved in the same transaction. */
  const acquire = db.transaction((request: BudgetRequest): BudgetDecision => {
    const budgets = budgetsOf(request);
    const plan = decideAcquire(request, factsOf(request, budgets, turnReads(), true));
    for (const row of plan.save) saveState(row);
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

  /**
   * The reads of one turn, in one read transaction (one snapshot; each fact read once for all):
   * the acquires for flows without concurrency or rate limits, decided together, and whether the
   * releases hold any slot (none when no slot is held at all, the case without such limits).
   * Nothing is kept past it: a pause another process wrote before an acquire was asked for holds
   * for it.
   */
  const readTurn = db.transaction((acquires: readonly PendingAcquire[], releases: number) => {
    const seen = turnReads();
    const plans = acquires.map(({ request }) =>
      decideAcquire(request, factsOf(request, budgetsOf(request), seen, false)),
    );
    const anySlot = releases > 0 && sql.anySlot.get() !== undefined;
    return { plans, anySlot };
  });

  let turn: { acquires: PendingAcquire[]; releases: PendingRelease[] } | undefined;
  const joinTurn = () => {
    if (turn === undefined) {
      turn = { acquires: [], releases: [] };
      setImmediate(endTurn);
    }
    return turn;
  };
  const endTurn = () => {
    const ending = turn;
    turn = undefined;
    if (ending === undefined) return;
    const { acquires, releases } = ending;
    let read: { plans: AcquirePlan[]; anySlot: boolean };
    const held: boolean[] = [];
    try {
      if (!isOpen()) throw new Error('the limits store is closed');
      read = readTurn(acquires, releases.length);
      if (read.anySlot)
        for (const { id, owner } of releases) held.push(sql.holds.get(id, owner) !== undefined);
    } catch (error) {
      for (const p of [...acquires, ...releases]) p.reject(error);
      return;
    }
    read.plans.forEach((plan, i) => {
      const { request, resolve, reject } = acquires[i];
      // Most decisions write nothing; one that does (a probe let through) is made again under
      // the write lock, as a limited flow's is.
      if (plan.save.length === 0) resolve(plan.decision);
      else write(() => acquire(request)).then(resolve, reject);
    });
    releases.forEach(({ id, owner, now, resolve, reject }, i) => {
      // A delivery of flows without a concurrency limit took no slot: nothing to write.
      if (held[i]) write(() => release(id, owner, now)).then(resolve, reject);
      else resolve();
    });
  };

  const release = db.transaction((id: string, owner: string, now: number) => {
    for (const slot of sql.releaseSlots.all({ id, owner })) {
      const row = stateOf(slot.flow);
      const took = Math.max(1, now - slot.taken_at);
      // A moving mean of the recent calls: how fast this flow frees a slot.
      row.avg_ms = row.avg_ms === null ? took : row.avg_ms * 0.8 + took * 0.2;
      saveState(row);
    }
    // Slots of killed holders are ignored once expired; drop them now and then.
    sql.expireSlots.run(now - MAX_WAIT_MS);
  });

  /**
   * The call outcomes of one turn, applied in the order they came (as one record() each would):
   * each flow's row read once and written once, an org's only after a 429; a row the outcomes
   * left as it was (calls that ended after their circuit opened) is not written.
   */
  const recordAll = (items: readonly PendingOutcome[]) => {
    const read = new Map<string, StateRow>();
    const turn: OutcomeTurn = { states: new Map(), orgs: new Map(), changedOrgs: new Set() };
    const answers = items.map(({ outcome, circuit }) => {
      let state = turn.states.get(outcome.key);
      if (state === undefined) {
        state = stateOf(outcome.key);
        read.set(outcome.key, state);
      }
      // Only a 429 reads (and writes) its org.
      let org = turn.orgs.get(outcome.org);
      if (org === undefined && outcome.kind === 'throttled')
        org = sql.org.get(outcome.org) ?? freshOrg(outcome.org);
      return applyToTurn(turn, state, org ?? freshOrg(outcome.org), outcome, circuit);
    });
    for (const [flow, row] of turn.states) {
      if (!sameRow(row, read.get(flow) as StateRow)) saveState(row);
    }
    for (const org of turn.changedOrgs) sql.saveOrg.run(turn.orgs.get(org) as OrgRow);
    return answers;
  };

  const run = <T>(work: () => T): Promise<T> => {
    try {
      if (!isOpen()) throw new Error('the limits store is closed');
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
  // On the delivery store's connection, in its commits; resolved at the commit, without waiting
  // for its fsync (synchronous=NORMAL's promise, as on a connection of its own).
  const writes = shared?.writes ?? createGroupCommit(db);
  const write = <T>(work: () => T): Promise<T> =>
    isOpen() ? writes.write(work, { durable: false }) : run(() => work());

  /** The outcomes of this turn, written by one write of the group commit. */
  let outcomesTurn: PendingOutcome[] | undefined;

  /** Whether the delivery holds a slot (a flow with a concurrency limit): else nothing to renew. */
  const holdsSlots = (id: string, owner: string): Promise<boolean> =>
    run(() => sql.holds.get(id, owner) !== undefined);

  return {
    acquire(request) {
      // Most flows have no concurrency or rate limit: their acquire only reads (paused? circuit
      // open? throttled?), with the others of its turn and without the write lock.
      if (!unlimited(budgetsOf(request))) return write(() => acquire(request));
      return new Promise((resolve, reject) => {
        joinTurn().acquires.push({ request, resolve, reject });
      });
    },
    release(id, owner, now) {
      return new Promise((resolve, reject) => {
        joinTurn().releases.push({ id, owner, now, resolve, reject });
      });
    },
    renew: (id, owner, until) =>
      holdsSlots(id, owner).then((held) =>
        held
          ? write(() => {
              sql.renewSlots.run({ id, owner, until });
            })
          : undefined,
      ),
    record(outcome, circuit) {
      if (!isOpen()) return run(() => ({}));
      return new Promise((resolve, reject) => {
        if (outcomesTurn === undefined) {
          const batch: PendingOutcome[] = (outcomesTurn = []);
          // Outcomes asked for once it runs (or failed) go to the next write.
          const close = () => {
            if (outcomesTurn === batch) outcomesTurn = undefined;
          };
          write(() => {
            close();
            return recordAll(batch);
          }).then(
            (answers) => batch.forEach((p, i) => p.resolve(answers[i])),
            (error: unknown) => {
              close();
              for (const p of batch) p.reject(error);
            },
          );
        }
        outcomesTurn.push({ outcome, circuit, resolve, reject });
      });
    },
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
        if (!isOpen()) return;
        // Queued work first: a caller may be awaiting it (a decision may queue a write).
        endTurn();
        closed = true;
        // A shared connection is the delivery store's: its group commit commits what is queued
        // (at the next turn, or when that store closes), and it closes the connection.
        if (shared) return;
        writes.drain();
        db.close();
      }),
  };
}

/** A connection of the limits store's own (opened without a delivery store's). */
function openOwnConnection(options: SqliteLimitsOptions): Database.Database {
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(path.resolve(options.dataDir, options.file ?? 'flowhook.db'));
  try {
    setWalPragmas(db);
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** The reads of one turn's acquires, each made once for all of them. */
interface TurnReads {
  readonly pauses: Map<string, boolean>;
  readonly states: Map<string, StateRow>;
  readonly orgs: Map<string, OrgRow | undefined>;
}

function turnReads(): TurnReads {
  return { pauses: new Map(), states: new Map(), orgs: new Map() };
}

interface PendingAcquire {
  readonly request: BudgetRequest;
  readonly resolve: (decision: BudgetDecision) => void;
  readonly reject: (error: unknown) => void;
}

interface PendingRelease {
  readonly id: string;
  readonly owner: string;
  readonly now: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface PendingOutcome {
  readonly outcome: CallOutcome;
  readonly circuit: CircuitSettings;
  readonly resolve: (answer: OutcomeChanges) => void;
  readonly reject: (error: unknown) => void;
}

function sameRow(a: StateRow, b: StateRow): boolean {
  return (Object.keys(a) as (keyof StateRow)[]).every((k) => a[k] === b[k]);
}
