import { DELIVERY_COLUMNS } from './sqlite-rows';

// The delivery log's pages: newest first, by (receivedAt, id), after an opaque cursor.

export interface ListParams {
  source: string | null;
  state: string | null;
  route: string | null;
  flow: string | null;
  since: number | null;
  until: number | null;
  search: string | null;
  search_prefix: string | null;
  search_suffix: string | null;
  cursor_at: number | null;
  cursor_id: string | null;
  limit: number;
}

/** One SELECT per filter shape, so each can use its index (no `@x IS NULL OR …`). */
export function listSql(
  shape: Record<
    'source' | 'state' | 'route' | 'flow' | 'since' | 'until' | 'search' | 'cursor',
    boolean
  >,
) {
  const where: string[] = [];
  if (shape.source) where.push('source = @source');
  if (shape.state) where.push('state = @state');
  if (shape.since) where.push('received_at >= @since');
  if (shape.until) where.push('received_at < @until');
  if (shape.search) {
    // flowhook's id, whole or by its first or last 8 or more characters, or the provider's id.
    where.push(
      `(idempotency_key = @search OR id = @search
        OR (length(@search) >= 8
          AND (id LIKE @search_prefix ESCAPE '\\' OR id LIKE @search_suffix ESCAPE '\\')))`,
    );
  }
  if (shape.flow) {
    where.push(
      `EXISTS (SELECT 1 FROM json_each(deliveries.routes) AS f
               WHERE json_extract(f.value, '$.flowId') = @flow)`,
    );
  }
  if (shape.cursor) where.push('(received_at, id) < (@cursor_at, @cursor_id)');
  if (shape.route) {
    where.push(
      `EXISTS (SELECT 1 FROM json_each(deliveries.routes) AS r
               WHERE json_extract(r.value, '$.route') = @route)`,
    );
  }
  return `SELECT ${DELIVERY_COLUMNS} FROM deliveries
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY received_at DESC, id DESC LIMIT @limit`;
}
