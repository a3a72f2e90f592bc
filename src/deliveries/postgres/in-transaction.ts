import type { Pool, PoolClient } from 'pg';
import { unavailableOrSame } from './unavailable-or-same';

/**
 * `work` on one connection of the pool, in a transaction: BEGIN before and COMMIT after, or
 * ROLLBACK when it throws; with `wrap: false`, `work` sends BEGIN and COMMIT itself (inside a
 * multi-statement query, to save round trips). Errors come out as the stores' errors
 * (unavailableOrSame). A connection that failed, or was killed while held, is not given back
 * to the pool.
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  wrap = true,
): Promise<T> {
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
    client.off('error', lost);
    client.release(broken instanceof Error ? broken : undefined);
  }
}
