import type { Config } from '../config';
import { sharedPoolOf } from '../deliveries/postgres/shared-pool';
import { sharedConnectionOf } from '../deliveries/shared-sqlite';
import type { DeliveryStore } from '../deliveries/types';
import { openSqliteLimitsStore } from './sqlite-limits-store';
import type { LimitsStore } from './types';

/**
 * The limits store next to the delivery store `openStore` opened (pass that store, before any
 * wrapper): in its PostgreSQL database, on its pool, so every instance on the database shares
 * every budget, circuit and pause; else in the SQLite file in DATA_DIR, shared by the processes
 * using that file, on the delivery store's connection when it is one opened by openSqliteStore.
 */
export function openLimitsStore(
  config: Pick<Config, 'dataDir'>,
  deliveryStore: DeliveryStore,
): LimitsStore {
  const pool = sharedPoolOf(deliveryStore);
  if (pool === undefined) {
    const connection = sharedConnectionOf(deliveryStore);
    return openSqliteLimitsStore({
      dataDir: config.dataDir,
      ...(connection === undefined ? {} : { connection }),
    });
  }
  // Loaded only with a PostgreSQL store (pg and its modules stay out of a SQLite process).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const postgres = require('./postgres-limits-store') as typeof import('./postgres-limits-store');
  return postgres.openPostgresLimitsStore({ pool });
}
