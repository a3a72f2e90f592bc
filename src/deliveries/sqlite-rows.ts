import { canonicalBody } from './canonical-body';
import {
  CLAIMED_COLUMN_LIST,
  DELIVERY_COLUMN_LIST,
  jsonOrNull,
  type StoredAttempt,
  type StoredDelivery,
} from './stored-columns';
import type { NewDelivery } from './types';

// How a delivery and its attempts are laid out in SQLite's rows (read back by stored-columns.ts).

export interface DeliveryRow extends StoredDelivery {
  body_truncated: 0 | 1;
}

export interface AttemptRow extends StoredAttempt {
  delivery_id: string;
  draft: 0 | 1;
}

export const DELIVERY_COLUMNS = DELIVERY_COLUMN_LIST.join(', ');
export const CLAIMED_COLUMNS = CLAIMED_COLUMN_LIST.join(', ');

export const ATTEMPT_COLUMNS = `delivery_id, number, started_at, duration_ms, route, flow_id, outcome,
  http_status, session_id, error, draft`;

export function rowFromNew(d: NewDelivery, updatedAt: number) {
  const body = canonicalBody(d);
  return {
    id: d.id,
    source: d.source,
    idempotency_key: d.idempotencyKey,
    mode: d.mode,
    state: d.state,
    received_at: d.receivedAt,
    updated_at: updatedAt,
    mapping_version: d.mappingVersion,
    method: d.request.method,
    url: d.request.url,
    headers: JSON.stringify(d.request.headers),
    body,
    body_bytes: d.request.bodyBytes,
    body_truncated: d.request.bodyTruncated ? 1 : 0,
    routes: JSON.stringify(d.routes),
    answer: d.answer ? JSON.stringify(d.answer) : null,
    next_attempt_at: d.nextAttemptAt ?? null,
    lease_owner: d.lease?.owner ?? null,
    lease_until: d.lease?.until ?? null,
    last_error: jsonOrNull(d.lastError ?? null),
    late_answer: null,
    explanation: d.explanation ? JSON.stringify(d.explanation) : null,
    trace_context: d.traceContext ?? null,
  };
}

// better-sqlite3 on Node 20 (its module version is below 127) passes a row to JavaScript by
// setting each column on a new object through V8's API, ~1,800 instructions a column, and reads
// each named parameter through two API calls (has, get), ~1,000. The hot statements therefore
// take positional parameters and give raw rows (arrays), made into objects here, in JavaScript
// (issue 15: ~100 K instructions per async delivery; Node 22 builds rows in one call).

/** A row object's values in the order of `columns`: a statement's positional parameters. */
export function valuesIn<K extends string>(
  columns: readonly K[],
  row: Readonly<Record<K, unknown>>,
): unknown[] {
  const values = new Array<unknown>(columns.length);
  for (let i = 0; i < columns.length; i += 1) values[i] = row[columns[i]];
  return values;
}

/** A raw row (an array in the order of `columns`) as an object keyed by column. */
export function rowFrom<T>(columns: readonly (keyof T & string)[], values: readonly unknown[]): T {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i += 1) row[columns[i]] = values[i];
  return row as T;
}
