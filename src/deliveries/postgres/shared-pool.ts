import type { Pool } from 'pg';

const pools = new WeakMap<object, Pool>();

/**
 * The connection pool of a PostgreSQL delivery store, for the limits store of the same process:
 * one pool per process rather than two, with the same timeouts and type parsers. The delivery
 * store owns it (its close() ends it); a user of the shared pool never ends it.
 */
export function sharePool(store: object, pool: Pool): void {
  pools.set(store, pool);
}

/** The pool of a store opened by openPostgresStore, or undefined for any other store. */
export function sharedPoolOf(store: object): Pool | undefined {
  return pools.get(store);
}
