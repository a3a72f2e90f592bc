import type { Attempt } from '../types';

/** Runs one statement; answers its rows (the store's query, with its error mapping). */
type Query = <R extends object>(text: string, values: unknown[]) => Promise<R[]>;

/** One delivery's write in a batch: its patch as columns, the holder it needs, attempts to add. */
export interface UpdateItem {
  readonly id: string;
  /** column → value, as the single update writes them; every item of a batch sets the same. */
  readonly columns: Record<string, unknown>;
  readonly owner: string | null;
  readonly attempts: readonly Omit<Attempt, 'number'>[];
}

/** The type of each column a patch can set, for json_to_recordset. */
const TYPES: Record<string, string> = {
  state: 'text',
  answer: 'text',
  next_attempt_at: 'bigint',
  lease_owner: 'text',
  lease_until: 'bigint',
  last_error: 'text',
  late_answer: 'text',
  routes: 'text',
  route_names: 'text[]',
  mapping_version: 'text',
};

/**
 * Several deliveries' writes in one statement (one round trip, one commit), each with the rule of
 * the single update: the patch applies only while `owner` (when given) holds the delivery, and
 * the attempts are appended either way, numbered after the ones stored. Rows are locked in id
 * order, so two batches running at once cannot deadlock. Answers, per item, whether the patch
 * applied and the stored attempt count, or undefined for a delivery that does not exist.
 *
 * The items of one batch set the same columns and name different deliveries: the caller groups
 * them so.
 */
export async function updateDeliveries(
  query: Query,
  items: readonly UpdateItem[],
  updatedAt: number,
): Promise<({ held: boolean; attemptCount: number } | undefined)[]> {
  const columns = Object.keys(items[0].columns);
  for (const column of columns) {
    if (!(column in TYPES)) throw new Error(`update of an unknown column ${column}`);
  }
  const input = items.map((item, ord) => ({
    ord,
    id: item.id,
    owner: item.owner,
    n: item.attempts.length,
    ...item.columns,
  }));
  const attempts = items.flatMap((item, ord) =>
    item.attempts.map((a, k) => ({
      ord,
      k: k + 1,
      started_at: a.startedAt,
      duration_ms: a.durationMs,
      route: a.route,
      flow_id: a.flowId,
      outcome: a.outcome,
      http_status: a.httpStatus ?? null,
      session_id: a.sessionId ?? null,
      error: a.error ? JSON.stringify(a.error) : null,
      draft: a.draft === true,
    })),
  );
  const declared = ['ord integer', 'id text', 'owner text', 'n integer']
    .concat(columns.map((c) => `${c} ${TYPES[c]}`))
    .join(', ');
  const sets = columns.map((c) => `${c} = CASE WHEN t.held THEN x.${c} ELSE d.${c} END, `).join('');
  const rows = await query<{ ord: number; held: boolean; attempt_count: number }>(
    `WITH input AS (
       SELECT * FROM json_to_recordset($1::json) AS x(${declared})
     ), target AS (
       SELECT d.id, x.ord, (x.owner IS NULL OR (d.state = 'running' AND d.lease_owner = x.owner))
         AS held
       FROM deliveries d JOIN input x ON d.id = x.id
       ORDER BY d.id FOR UPDATE OF d
     ), changed AS (
       UPDATE deliveries d SET ${sets}
         attempt_count = d.attempt_count + x.n,
         updated_at = CASE WHEN t.held OR x.n > 0 THEN $2 ELSE d.updated_at END
       FROM target t JOIN input x ON x.ord = t.ord
       WHERE d.id = t.id
       RETURNING t.ord, t.held, d.attempt_count, x.n
     ), added AS (
       INSERT INTO attempts (delivery_id, number, started_at, duration_ms, route, flow_id,
         outcome, http_status, session_id, error, draft)
       SELECT x.id, c.attempt_count - c.n + a.k, a.started_at, a.duration_ms, a.route, a.flow_id,
         a.outcome, a.http_status, a.session_id, a.error, a.draft
       FROM changed c JOIN input x ON x.ord = c.ord
       JOIN json_to_recordset($3::json) AS a(ord integer, k integer, started_at bigint,
         duration_ms float8, route text, flow_id text, outcome text, http_status integer,
         session_id text, error text, draft boolean) ON a.ord = c.ord
     )
     SELECT ord, held, attempt_count FROM changed`,
    [JSON.stringify(input), updatedAt, JSON.stringify(attempts)],
  );
  const answers: ({ held: boolean; attemptCount: number } | undefined)[] = items.map(
    () => undefined,
  );
  for (const row of rows) answers[row.ord] = { held: row.held, attemptCount: row.attempt_count };
  return answers;
}
