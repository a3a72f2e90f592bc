import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL the tests use (CI and the dev machines run one on 127.0.0.1:5432, trust auth).
 * Each test file creates a database of its own with a random name and drops it after.
 */
export const POSTGRES_ADMIN_URL =
  process.env.FLOWHOOK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  /** DATABASE_URL for it. */
  readonly url: string;
  /** Runs SQL on it (a short-lived connection of its own). */
  sql<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  /** Empties flowhook's tables (they exist once a store opened it). */
  reset(): Promise<void>;
  drop(): Promise<void>;
}

async function onAdmin<T>(work: (client: pg.Client) => Promise<T>, url = POSTGRES_ADMIN_URL) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `flowhook_test_${randomBytes(6).toString('hex')}`;
  for (let tries = 0; ; tries++) {
    try {
      await onAdmin((c) => c.query(`CREATE DATABASE ${name}`));
      break;
    } catch (error) {
      // 55006: template1 busy with another worker's CREATE DATABASE; try again shortly.
      if ((error as { code?: string }).code !== '55006' || tries >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const sql = <R extends object>(text: string, values: unknown[] = []) =>
    onAdmin(async (c) => (await c.query<R>(text, values)).rows, url.toString());
  return {
    name,
    url: url.toString(),
    sql,
    async reset() {
      await sql('TRUNCATE deliveries, attempts, idempotency_keys, delivery_count_deltas');
    },
    async drop() {
      await onAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
