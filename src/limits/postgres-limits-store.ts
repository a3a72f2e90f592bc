import type { Pool, PoolClient, QueryResult } from 'pg';
import { FLOW_LOCK_SPACE, ORG_LOCK_SPACE } from '../deliveries/postgres/advisory-locks';
import { unavailableOrSame } from '../deliveries/postgres/unavailable-or-same';
import { applyOutcome } from './apply-outcome';
import { budgetsOf, decideAcquire } from './decide-acquire';
import { freshOrg, freshState, STATE_COLUMNS, type OrgRow, type StateRow } from './limit-rows';
import { MAX_WAIT_MS } from './limit-timings';
import { flowStateViews } from './flow-state-views';
import { inlineParams } from './inline-params';
import type { LimitsStore, Pause, PauseKind } from './types';

export interface PostgresLimitsOptions {
  /**
   * The delivery store's pool (sharedPoolOf): the tables come with its migrations (version 3),
   * and it owns the pool, so close() here never ends it.
   */
  readonly pool: Pool;
}

/** Takes the transaction's advisory locks of these names in one order, so two never deadlock. */
const LOCK = `SELECT pg_advisory_xact_lock($1, h)
  FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS locks`;

interface AcquireFactsRow {
  source_paused: boolean;
  paused_flows: string[];
  states: StateRow[];
  orgs: OrgRow[];
  running: Record<string, number>;
}

/** Everything an acquire reads, in one statement, once its flows are locked. */
const ACQUIRE_FACTS = `SELECT
  EXISTS (SELECT 1 FROM pauses WHERE kind = 'source' AND name = $1) AS source_paused,
  ARRAY(SELECT name FROM pauses WHERE kind = 'flow' AND name = ANY($2::text[])) AS paused_flows,
  (SELECT coalesce(json_agg(s), '[]') FROM flow_states s WHERE flow = ANY($3::text[])) AS states,
  (SELECT coalesce(json_agg(o), '[]') FROM org_states o WHERE org = ANY($4::text[])) AS orgs,
  (SELECT coalesce(json_object_agg(flow, n), '{}') FROM (
     SELECT flow, count(*) AS n FROM flow_slots
     WHERE flow = ANY($3::text[]) AND until > $5 AND delivery_id <> $6 GROUP BY flow) r) AS running`;

/**
 * The slots an acquire took (slots of killed holders of these flows, long expired, are dropped on
 * the way). Written before the states, as a release does: the two lock rows in one order.
 */
const TAKE_SLOTS = `WITH expired AS (
    DELETE FROM flow_slots WHERE flow = ANY($1::text[]) AND until <= $6 AND delivery_id <> $2
  )
  INSERT INTO flow_slots (flow, delivery_id, owner, taken_at, until)
  SELECT unnest($1::text[]), $2, $3, $4, $5
  ON CONFLICT (flow, delivery_id) DO UPDATE
    SET owner = excluded.owner, taken_at = excluded.taken_at, until = excluded.until`;

/**
 * The rows an acquire changed, in flow order (as a release's): only the columns an acquire sets,
 * so a concurrent release's mean call time is not overwritten.
 */
const SAVE_PARKED = `INSERT INTO flow_states (${STATE_COLUMNS})
  SELECT ${STATE_COLUMNS} FROM json_populate_recordset(NULL::flow_states, $1::json) ORDER BY flow
  ON CONFLICT (flow) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at,
    park_until = excluded.park_until, circuit = excluded.circuit,
    changed_at = excluded.changed_at, probe_until = excluded.probe_until`;

/** A call's outcome: every column but the mean call time (a release keeps that). */
const SAVE_STATE = `INSERT INTO flow_states (${STATE_COLUMNS})
  SELECT ${STATE_COLUMNS} FROM json_populate_record(NULL::flow_states, $1::json)
  ON CONFLICT (flow) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at,
    park_until = excluded.park_until, blocked_until = excluded.blocked_until,
    throttles = excluded.throttles, circuit = excluded.circuit, changed_at = excluded.changed_at,
    open_until = excluded.open_until, probe_until = excluded.probe_until,
    window_start = excluded.window_start, window_calls = excluded.window_calls,
    window_failures = excluded.window_failures`;

const SAVE_ORG = `INSERT INTO org_states (org, blocked_until, last_flow, last_until)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (org) DO UPDATE SET blocked_until = excluded.blocked_until,
    last_flow = excluded.last_flow, last_until = excluded.last_until`;

/**
 * Gives back a holder's slots and folds each call's time into its flow's moving mean, in one
 * statement without the flow's lock: the upsert's row lock orders it against an acquire's write,
 * and it sets only the mean, which an acquire never writes.
 */
const RELEASE = `WITH gone AS (
    DELETE FROM flow_slots WHERE delivery_id = $1 AND owner = $2 RETURNING flow, taken_at
  )
  INSERT INTO flow_states (flow, avg_ms)
  SELECT flow, greatest(1, $3 - taken_at) FROM gone ORDER BY flow
  ON CONFLICT (flow) DO UPDATE SET avg_ms = CASE
    WHEN flow_states.avg_ms IS NULL THEN excluded.avg_ms
    ELSE flow_states.avg_ms * 0.8 + excluded.avg_ms * 0.2 END`;

/**
 * The limits kept in the PostgreSQL database of the delivery store, so every instance on it
 * shares one budget per flow, one circuit, one 429 block and the pauses. The decisions are the
 * SQLite store's (decideAcquire, applyOutcome); what makes them atomic across instances is that
 * acquire and record each run in one transaction that first takes an advisory transaction lock
 * per flow it touches (per org too for a 429), then reads, decides and writes: two instances
 * asking for one flow run one after the other, and see each other's slots and tokens. The rest
 * is one statement each with its condition inside (release and renew only for the holder).
 */
export function openPostgresLimitsStore(options: PostgresLimitsOptions): LimitsStore {
  const { pool } = options;
  let closed = false;

  async function query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    if (closed) throw new Error('the limits store is closed');
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      throw unavailableOrSame(error);
    }
  }

  /** `work` in a transaction; with `wrap: false` it sends BEGIN and COMMIT itself. */
  async function transaction<T>(work: (client: PoolClient) => Promise<T>, wrap = true): Promise<T> {
    if (closed) throw new Error('the limits store is closed');
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw unavailableOrSame(error);
    }
    let broken: unknown;
    // A connection killed while checked out emits 'error' on the client, which the pool no
    // longer listens to; unheard, it would end the process. The query in flight fails anyway.
    const lost = (error: Error) => {
      broken = error;
    };
    client.on('error', lost);
    try {
      if (wrap) await client.query('BEGIN');
      const result = await work(client);
      if (wrap) await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw unavailableOrSame(error);
    } finally {
      // A connection that failed mid-transaction is not given back to the pool.
      client.off('error', lost);
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  return {
    async acquire(request) {
      const budgets = budgetsOf(request);
      const keys = budgets.map((b) => b.key);
      const orgNames = [...new Set(budgets.map((b) => b.org).filter((o) => o !== ''))];
      // Two round trips: BEGIN, the flows' locks and the read in one; the writes and COMMIT in
      // the other (a claim asks for every delivery it looks at, one after the other).
      return transaction(async (client) => {
        const results = (await client.query(
          [
            'BEGIN',
            inlineParams(client, LOCK, [FLOW_LOCK_SPACE, keys]),
            inlineParams(client, ACQUIRE_FACTS, [
              request.source,
              request.flows.map((f) => f.key),
              keys,
              orgNames,
              request.now,
              request.deliveryId,
            ]),
          ].join(';\n'),
        )) as unknown as QueryResult<AcquireFactsRow>[];
        const facts = results[2].rows[0];
        const states = new Map(keys.map((k) => [k, freshState(k)]));
        for (const row of facts.states) states.set(row.flow, row);
        const plan = decideAcquire(request, {
          sourcePaused: facts.source_paused,
          pausedFlows: new Set(facts.paused_flows),
          states,
          orgs: new Map(facts.orgs.map((o) => [o.org, o])),
          running: new Map(Object.entries(facts.running)),
        });
        const writes = [
          ...(plan.slots.length > 0
            ? [
                inlineParams(client, TAKE_SLOTS, [
                  plan.slots,
                  request.deliveryId,
                  request.owner,
                  request.now,
                  request.until,
                  request.now - MAX_WAIT_MS,
                ]),
              ]
            : []),
          ...(plan.save.length > 0
            ? [inlineParams(client, SAVE_PARKED, [JSON.stringify(plan.save)])]
            : []),
        ];
        await client.query([...writes, 'COMMIT'].join(';\n'));
        return plan.decision;
      }, false);
    },

    async release(id, owner, now) {
      await query(RELEASE, [id, owner, now]);
    },

    async renew(id, owner, until) {
      await query('UPDATE flow_slots SET until = $3 WHERE delivery_id = $1 AND owner = $2', [
        id,
        owner,
        until,
      ]);
    },

    record: (outcome, circuit) =>
      transaction(async (client) => {
        await client.query(LOCK, [FLOW_LOCK_SPACE, [outcome.key]]);
        await client.query(LOCK, [ORG_LOCK_SPACE, [outcome.org]]);
        const [state] = (
          await client.query<StateRow>(`SELECT ${STATE_COLUMNS} FROM flow_states WHERE flow = $1`, [
            outcome.key,
          ])
        ).rows;
        const [org] = (
          await client.query<OrgRow>(
            'SELECT org, blocked_until, last_flow, last_until FROM org_states WHERE org = $1',
            [outcome.org],
          )
        ).rows;
        const plan = applyOutcome(
          state ?? freshState(outcome.key),
          org ?? freshOrg(outcome.org),
          outcome,
          circuit,
        );
        await client.query(SAVE_STATE, [JSON.stringify(plan.state)]);
        if (plan.org) {
          const o = plan.org;
          await client.query(SAVE_ORG, [o.org, o.blocked_until, o.last_flow, o.last_until]);
        }
        return {
          ...(plan.circuit ? { circuit: plan.circuit } : {}),
          ...(plan.throttle ? { throttle: plan.throttle } : {}),
        };
      }),

    async pause(kind, name, now) {
      const rows = await query(
        `INSERT INTO pauses (kind, name, paused_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING 1 AS n`,
        [kind, name, now],
      );
      return rows.length === 1;
    },

    async resume(kind, name) {
      const rows = await query(
        'DELETE FROM pauses WHERE kind = $1 AND name = $2 RETURNING 1 AS n',
        [kind, name],
      );
      return rows.length === 1;
    },

    async pauses() {
      const rows = await query<{ kind: PauseKind; name: string; paused_at: number }>(
        'SELECT kind, name, paused_at FROM pauses ORDER BY kind, name',
        [],
      );
      return rows.map((p): Pause => ({ kind: p.kind, name: p.name, pausedAt: p.paused_at }));
    },

    async flows(now) {
      const [rows, counts] = await Promise.all([
        query<StateRow>(`SELECT ${STATE_COLUMNS} FROM flow_states ORDER BY flow`, []),
        query<{ flow: string; n: number }>(
          'SELECT flow, count(*) AS n FROM flow_slots WHERE until > $1 GROUP BY flow',
          [now],
        ),
      ]);
      return flowStateViews(rows, new Map(counts.map((r) => [r.flow, r.n])), now);
    },

    async close() {
      // The pool is the delivery store's: it ends it.
      closed = true;
    },
  };
}
