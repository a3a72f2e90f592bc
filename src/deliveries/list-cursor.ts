// The list cursor of the delivery store: opaque to callers, the same for every store.

/** The cursor is opaque to callers: base64url of `[receivedAt, id]` of a page's last item. */
export function encodeCursor(receivedAt: number, id: string): string {
  return Buffer.from(JSON.stringify([receivedAt, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { receivedAt: number; id: string } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !Number.isSafeInteger(value[0]) ||
    typeof value[1] !== 'string'
  ) {
    throw new RangeError('invalid cursor');
  }
  return { receivedAt: value[0] as number, id: value[1] };
}
