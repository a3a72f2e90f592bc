import type { PoolClient } from 'pg';

/**
 * `$1`, `$2` … of a statement replaced by literals, so several statements can go to the server in
 * one round trip (the simple query protocol takes no parameters). Strings are quoted by pg's
 * escapeLiteral; numbers must be finite; arrays are of strings.
 */
export function inlineParams(client: PoolClient, text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => literal(client, values[Number(n) - 1]));
}

function literal(client: PoolClient, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return client.escapeLiteral(value);
  if (Array.isArray(value)) {
    return value.length === 0
      ? `'{}'`
      : `ARRAY[${value.map((v) => client.escapeLiteral(String(v))).join(', ')}]`;
  }
  throw new TypeError(`cannot inline a ${typeof value}`);
}
