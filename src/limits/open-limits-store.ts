import type { Config } from '../config';
import { sharedPoolOf } from '../deliveries/postgres/shared-pool';
import type { DeliveryStore } from '../deliveries/types';
import { openPostgresLimitsStore } from './postgres-limits-store';
import { openSqliteLimitsStore } from './sqlite-limits-store';
import type { LimitsStore } from './types';

/**
 * The limits store next to the delivery store `openStore` opened (pass that store, before any
 * wrapper): in its PostgreSQL database, on its pool, so every instance on the database shares
 * every budget, circuit and pause; else in the SQLite file in DATA_DIR, shared by the processes
 * using that file.
 */
export function openLimitsStore(
  config: Pick<Config, 'dataDir'>,
  deliveryStore: DeliveryStore,
): LimitsStore {
  const pool = sharedPoolOf(deliveryStore);
  return pool
    ? openPostgresLimitsStore({ pool })
    : openSqliteLimitsStore({ dataDir: config.dataDir });
}
