import type { Pool, PoolClient, QueryResult } from 'pg';
import { FLOW_LOCK_SPACE, ORG_LOCK_SPACE } from '../deliveries/postgres/advisory-locks';
import { batchPerTurn } from '../deliveries/postgres/batch-per-turn';
import { inTransaction } from '../deliveries/postgres/in-transaction';
import { unavailableOrSame } from '../deliveries/postgres/unavailable-or-same';
import { applyToTurn, type OutcomeTurn } from './apply-outcome';
import { budgetsOf, decideAcquire, unlimited, type AcquireFacts } from './decide-acquire';
import { freshOrg, freshState, STATE_COLUMNS, type OrgRow, type StateRow } from './limit-rows';
import { MAX_WAIT_MS } from './limit-timings';
import { flowStateViews } from './flow-state-views';
import { inlineParams } from './inline-params';
import type { CallOutcome, CircuitSettings, LimitsStore, Pause, PauseKind } from './types';

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

/** An acquire's reading as decideAcquire takes it (a fresh row for a flow never seen). */
function factsOf(read: AcquireFactsRow, keys: readonly string[]): AcquireFacts {
  const states = new Map(keys.map((k) => [k, freshState(k)]));
  for (const row of read.states) states.set(row.flow, row);
  return {
    sourcePaused: read.source_paused,
    pausedFlows: new Set(read.paused_flows),
    states,
    orgs: new Map(read.orgs.map((o) => [o.org, o])),
    running: new Map(Object.entries(read.running)),
  };
}

/** Everything an acquire reads, in one statement (under its flows' locks when it writes). */
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

/**
 * Gives back the slots of the holders of one event-loop turn and folds their calls' times into
 * each flow's moving mean (one fold per flow and batch, with the batch's mean time), in one
 * statement without the flows' locks: the upsert's row lock orders it against an acquire's
 * write, and it sets only the mean, which an acquire never writes.
 */
const RELEASE = `WITH gone AS (
    DELETE FROM flow_slots s
    USING unnest($1::text[], $2::text[]) AS r(delivery_id, owner)
    WHERE s.delivery_id = r.delivery_id AND s.owner = r.owner
    RETURNING s.flow, s.taken_at
  )
  INSERT INTO flow_states (flow, avg_ms)
  SELECT flow, greatest(1, avg($3 - taken_at)) FROM gone GROUP BY flow ORDER BY flow
  ON CONFLICT (flow) DO UPDATE SET avg_ms = CASE
    WHEN flow_states.avg_ms IS NULL THEN excluded.avg_ms
    ELSE flow_states.avg_ms * 0.8 + excluded.avg_ms * 0.2 END`;

/** The calls' outcomes of one turn: every column but the mean call time (a release keeps that). */
const SAVE_STATES = `INSERT INTO flow_states (${STATE_COLUMNS})
  SELECT ${STATE_COLUMNS} FROM json_populate_recordset(NULL::flow_states, $1::json) ORDER BY flow
  ON CONFLICT (flow) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at,
    park_until = excluded.park_until, blocked_until = excluded.blocked_until,
    throttles = excluded.throttles, circuit = excluded.circuit, changed_at = excluded.changed_at,
    open_until = excluded.open_until, probe_until = excluded.probe_until,
    window_start = excluded.window_start, window_calls = excluded.window_calls,
    window_failures = excluded.window_failures`;

const SAVE_ORGS = `INSERT INTO org_states (org, blocked_until, last_flow, last_until)
  SELECT org, blocked_until, last_flow, last_until
  FROM json_populate_recordset(NULL::org_states, $1::json) ORDER BY org
  ON CONFLICT (org) DO UPDATE SET blocked_until = excluded.blocked_until,
    last_flow = excluded.last_flow, last_until = excluded.last_until`;

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

  /** `work` in a transaction (inTransaction), refused once the store is closed. */
  function transaction<T>(work: (client: PoolClient) => Promise<T>, wrap = true): Promise<T> {
    if (closed) return Promise.reject(new Error('the limits store is closed'));
    return inTransaction(pool, work, wrap);
  }

  /**
   * What the acquires of one event-loop turn for flows without limits read (pauses, circuits,
   * 429 blocks), in one statement for all of them; each decides on its own part. Nothing is
   * cached beyond the turn: a pause holds on every instance from the next acquire on.
   */
  const readInBatch = batchPerTurn(
    async (items: { source: string; flows: string[]; orgs: string[] }[]) => {
      const flows = [...new Set(items.flatMap((i) => i.flows))];
      const [read] = await query<{ pauses: Pause[]; states: StateRow[]; orgs: OrgRow[] }>(
        `SELECT
           (SELECT coalesce(json_agg(json_build_object('kind', kind, 'name', name)), '[]')
            FROM pauses WHERE (kind = 'source' AND name = ANY($1::text[]))
              OR (kind = 'flow' AND name = ANY($2::text[]))) AS pauses,
           (SELECT coalesce(json_agg(s), '[]') FROM flow_states s
            WHERE flow = ANY($2::text[])) AS states,
           (SELECT coalesce(json_agg(o), '[]') FROM org_states o
            WHERE org = ANY($3::text[])) AS orgs`,
        [
          [...new Set(items.map((i) => i.source))],
          flows,
          [...new Set(items.flatMap((i) => i.orgs))],
        ],
      );
      const sources = new Set(read.pauses.filter((p) => p.kind === 'source').map((p) => p.name));
      const pausedFlows = read.pauses.filter((p) => p.kind === 'flow').map((p) => p.name);
      return items.map((item): PromiseSettledResult<AcquireFactsRow> => ({
        status: 'fulfilled',
        value: {
          source_paused: sources.has(item.source),
          paused_flows: pausedFlows.filter((f) => item.flows.includes(f)),
          states: read.states.filter((row) => item.flows.includes(row.flow)),
          orgs: read.orgs.filter((row) => item.orgs.includes(row.org)),
          running: {},
        },
      }));
    },
    256,
  );

  /** The releases of one event-loop turn in one statement (one round trip, one commit). */
  const releaseInBatch = batchPerTurn(
    async (items: { id: string; owner: string; now: number }[]) => {
      const done = query(RELEASE, [
        items.map((r) => r.id),
        items.map((r) => r.owner),
        Math.max(...items.map((r) => r.now)),
      ]).then(() => undefined);
      return Promise.allSettled(items.map(() => done));
    },
    256,
  );

  /**
   * The call outcomes of one event-loop turn in one transaction of two round trips: the flows'
   * and orgs' locks (in one order) and their rows read in the first; each outcome applied in the
   * order it came, as record() alone would, then the changed rows and COMMIT in the second.
   */
  const recordInBatch = batchPerTurn(
    async (items: { outcome: CallOutcome; circuit: CircuitSettings }[]) => {
      const changes = await transaction(async (client) => {
        const flows = [...new Set(items.map((i) => i.outcome.key))];
        const orgNames = [...new Set(items.map((i) => i.outcome.org))];
        const results = (await client.query(
          [
            'BEGIN',
            inlineParams(client, LOCK, [FLOW_LOCK_SPACE, flows]),
            inlineParams(client, LOCK, [ORG_LOCK_SPACE, orgNames]),
            inlineParams(
              client,
              `SELECT ${STATE_COLUMNS} FROM flow_states WHERE flow = ANY($1::text[])`,
              [flows],
            ),
            inlineParams(
              client,
              'SELECT org, blocked_until, last_flow, last_until FROM org_states WHERE org = ANY($1::text[])',
              [orgNames],
            ),
          ].join(';\n'),
        )) as unknown as QueryResult[];
        const states = new Map(flows.map((f) => [f, freshState(f)]));
        for (const row of results[3].rows as StateRow[]) states.set(row.flow, row);
        const orgs = new Map(orgNames.map((o) => [o, freshOrg(o)]));
        for (const row of results[4].rows as OrgRow[]) orgs.set(row.org, row);
        const turn: OutcomeTurn = { states, orgs, changedOrgs: new Set() };
        const answers = items.map(({ outcome, circuit }) =>
          applyToTurn(
            turn,
            states.get(outcome.key) as StateRow,
            orgs.get(outcome.org) as OrgRow,
            outcome,
            circuit,
          ),
        );
        const saved = [inlineParams(client, SAVE_STATES, [JSON.stringify([...states.values()])])];
        if (turn.changedOrgs.size > 0) {
          const rows = [...turn.changedOrgs].map((o) => orgs.get(o));
          saved.push(inlineParams(client, SAVE_ORGS, [JSON.stringify(rows)]));
        }
        await client.query([...saved, 'COMMIT'].join(';\n'));
        return answers;
      }, false);
      return changes.map((value) => ({ status: 'fulfilled' as const, value }));
    },
    256,
  );

  return {
    async acquire(request) {
      const budgets = budgetsOf(request);
      const keys = budgets.map((b) => b.key);
      const orgNames = [...new Set(budgets.map((b) => b.org).filter((o) => o !== ''))];
      const factsValues = [
        request.source,
        request.flows.map((f) => f.key),
        keys,
        orgNames,
        request.now,
        request.deliveryId,
      ];
      // Most flows have no concurrency or rate limit: their acquire only reads (paused? circuit
      // open? throttled?) and writes nothing, so it needs neither the flows' locks nor a
      // transaction: one statement, no commit. Only a decision that writes (a slot counted, a
      // token taken, a waiting time handed out, a probe let through) is made again under the
      // locks. Only flows with a concurrency limit take slot rows (decideAcquire): nothing else
      // counts them.
      if (unlimited(budgets)) {
        const read = await readInBatch({
          source: request.source,
          flows: request.flows.map((f) => f.key),
          orgs: orgNames,
        });
        const plan = decideAcquire(request, factsOf(read, keys));
        if (plan.save.length === 0) return plan.decision;
      }
      // Two round trips: BEGIN, the flows' locks and the read in one; the writes and COMMIT in
      // the other (a claim asks for every delivery it looks at, one after the other).
      return transaction(async (client) => {
        const results = (await client.query(
          [
            'BEGIN',
            inlineParams(client, LOCK, [FLOW_LOCK_SPACE, keys]),
            inlineParams(client, ACQUIRE_FACTS, factsValues),
          ].join(';\n'),
        )) as unknown as QueryResult<AcquireFactsRow>[];
        const plan = decideAcquire(request, factsOf(results[2].rows[0], keys));
        const { slots } = plan;
        const writes = [
          ...(slots.length > 0
            ? [
                inlineParams(client, TAKE_SLOTS, [
                  slots,
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

    release(id, owner, now) {
      return releaseInBatch({ id, owner, now });
    },

    async renew(id, owner, until) {
      await query('UPDATE flow_slots SET until = $3 WHERE delivery_id = $1 AND owner = $2', [
        id,
        owner,
        until,
      ]);
    },

    record(outcome, circuit) {
      return recordInBatch({ outcome, circuit });
    },

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
