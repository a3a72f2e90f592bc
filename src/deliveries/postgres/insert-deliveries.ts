import { canonicalBody } from '../canonical-body';
import type { NewDelivery } from '../types';

/** Runs one statement; answers its rows (the store's query, with its error mapping). */
type Query = <R extends object>(text: string, values: unknown[]) => Promise<R[]>;

/**
 * Inserts several new deliveries in one statement (one round trip, one commit), with the same
 * rule as a single create: each delivery's key row is inserted first and its primary key decides;
 * a row older than the window is taken over. Answers the ids that were inserted; a delivery not
 * among them met a live key (a duplicate) and is settled by the caller one by one.
 *
 * The keys of one batch must differ (ON CONFLICT cannot touch one row twice in a statement), and
 * they share one window: the caller groups them so.
 */
export async function insertDeliveries(
  query: Query,
  deliveries: readonly NewDelivery[],
  windowMs: number,
  updatedAt: number,
): Promise<Set<string>> {
  const column = <T>(pick: (d: NewDelivery) => T): T[] => deliveries.map(pick);
  const rows = await query<{ id: string }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
         $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bytea[],
         $12::integer[], $13::boolean[], $14::text[], $15::text[], $16::text[], $17::bigint[],
         $18::text[], $19::bigint[], $20::text[], $23::text[], $24::text[])
       AS i(id, source, key, mode, state, received_at, mapping_version, method, url, headers,
         body, body_bytes, body_truncated, routes, route_names, answer, next_attempt_at,
         lease_owner, lease_until, explanation, last_error, trace_context)
     ), owned AS (
       INSERT INTO idempotency_keys (source, key, delivery_id, received_at)
       SELECT source, key, id, received_at FROM input WHERE key IS NOT NULL
       ON CONFLICT (source, key) DO UPDATE
         SET delivery_id = excluded.delivery_id, received_at = excluded.received_at
         WHERE excluded.received_at - idempotency_keys.received_at >= $21
       RETURNING delivery_id
     )
     INSERT INTO deliveries (id, source, idempotency_key, mode, state, received_at, updated_at,
       mapping_version, method, url, headers, body, body_bytes, body_truncated, routes,
       route_names, answer, next_attempt_at, lease_owner, lease_until, explanation, last_error,
       trace_context)
     SELECT id, source, key, mode, state, received_at, $22, mapping_version, method, url, headers,
       body, body_bytes, body_truncated, routes,
       ARRAY(SELECT json_array_elements_text(route_names::json)), answer, next_attempt_at,
       lease_owner, lease_until, explanation, last_error, trace_context
     FROM input WHERE key IS NULL OR id IN (SELECT delivery_id FROM owned)
     RETURNING id`,
    [
      column((d) => d.id),
      column((d) => d.source),
      column((d) => d.idempotencyKey),
      column((d) => d.mode),
      column((d) => d.state),
      column((d) => d.receivedAt),
      column((d) => d.mappingVersion),
      column((d) => d.request.method),
      column((d) => d.request.url),
      column((d) => JSON.stringify(d.request.headers)),
      column((d) => canonicalBody(d)),
      column((d) => d.request.bodyBytes),
      column((d) => d.request.bodyTruncated),
      column((d) => JSON.stringify(d.routes)),
      column((d) => JSON.stringify(d.routes.map((r) => r.route))),
      column((d) => (d.answer ? JSON.stringify(d.answer) : null)),
      column((d) => d.nextAttemptAt ?? null),
      column((d) => d.lease?.owner ?? null),
      column((d) => d.lease?.until ?? null),
      column((d) => (d.explanation ? JSON.stringify(d.explanation) : null)),
      windowMs,
      updatedAt,
      column((d) => (d.lastError ? JSON.stringify(d.lastError) : null)),
      column((d) => d.traceContext ?? null),
    ],
  );
  return new Set(rows.map((r) => r.id));
}
