import { canonicalBody } from './canonical-body';
import {
  jsonOrNull,
  type StoredAttempt,
  type StoredClaimed,
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

/** The columns of a delivery's row, in the order of the store's statements and raw rows. */
export const DELIVERY_COLUMN_LIST = [
  'id',
  'source',
  'idempotency_key',
  'mode',
  'state',
  'received_at',
  'updated_at',
  'mapping_version',
  'method',
  'url',
  'headers',
  'body',
  'body_bytes',
  'body_truncated',
  'routes',
  'answer',
  'next_attempt_at',
  'lease_owner',
  'lease_until',
  'last_error',
  'late_answer',
  'explanation',
  'trace_context',
] as const satisfies readonly (keyof DeliveryRow)[];

export const DELIVERY_COLUMNS = DELIVERY_COLUMN_LIST.join(', ');

/** The columns a claim reads (ClaimedDelivery), in the order of its raw rows. */
export const CLAIMED_COLUMN_LIST = [
  'id',
  'source',
  'idempotency_key',
  'mode',
  'state',
  'received_at',
  'updated_at',
  'mapping_version',
  'routes',
  'next_attempt_at',
  'lease_owner',
  'lease_until',
  'last_error',
  'late_answer',
  'trace_context',
] as const satisfies readonly (keyof StoredClaimed)[];

export const CLAIMED_COLUMNS = CLAIMED_COLUMN_LIST.join(', ');

/** Compiles only when `Missing` is never: a column list that leaves a column out does not. */
export type Complete<Missing extends never> = Missing;
export type DeliveryColumnsComplete = Complete<
  Exclude<keyof DeliveryRow, (typeof DELIVERY_COLUMN_LIST)[number]>
>;
export type ClaimedColumnsComplete = Complete<
  Exclude<keyof StoredClaimed, (typeof CLAIMED_COLUMN_LIST)[number]>
>;

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
