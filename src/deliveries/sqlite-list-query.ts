import { DELIVERY_COLUMNS } from './sqlite-rows';

// The delivery log's pages: newest first, by (receivedAt, id), after an opaque cursor.

export interface ListParams {
  source: string | null;
  state: string | null;
  route: string | null;
  since: number | null;
  cursor_at: number | null;
  cursor_id: string | null;
  limit: number;
}

/** One SELECT per filter shape, so each can use its index (no `@x IS NULL OR …`). */
export function listSql(shape: Record<'source' | 'state' | 'route' | 'since' | 'cursor', boolean>) {
  const where: string[] = [];
  if (shape.source) where.push('source = @source');
  if (shape.state) where.push('state = @state');
  if (shape.since) where.push('received_at >= @since');
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
