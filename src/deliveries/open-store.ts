import { ConfigError, type Config } from '../config';
import type { Logger } from '../logger';
import { redactDatabaseUrl } from './postgres/redact-database-url';
import { openSqliteStore } from './sqlite-store';
import { StoreUnavailableError } from './store-unavailable-error';
import type { DeliveryStore } from './types';

/** How long a start waits for PostgreSQL to accept connections (it may be starting too). */
const DATABASE_WAIT_MS = 30_000;
const DATABASE_RETRY_MS = 1000;

/**
 * The delivery store the configuration asks for: PostgreSQL when DATABASE_URL is set (shared by
 * every instance using it), else the SQLite file in DATA_DIR. A database that does not answer
 * yet is waited for (logged) up to 30 s; one that refuses for good — a schema newer than this
 * flowhook, a wrong password — stops the start with one line that never holds the password.
 */
export async function openStore(
  config: Pick<
    Config,
    'databaseUrl' | 'databasePoolSize' | 'dataDir' | 'storeSync' | 'storeMaxBytes'
  >,
  log: Logger,
): Promise<DeliveryStore> {
  if (config.databaseUrl === undefined) {
    return openSqliteStore({
      dataDir: config.dataDir,
      sync: config.storeSync,
      maxBytes: config.storeMaxBytes,
    });
  }
  // PostgreSQL's client (pg, ~5 MB of memory) is loaded only when a database is configured.
  const { openPostgresStore } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('./postgres/open-postgres-store') as typeof import('./postgres/open-postgres-store');
  const url = config.databaseUrl;
  const database = redactDatabaseUrl(url);
  const giveUpAt = Date.now() + DATABASE_WAIT_MS;
  for (;;) {
    try {
      return await openPostgresStore({
        url,
        poolSize: config.databasePoolSize,
        onProblem: (error, what) =>
          log.warn({ database, err: { message: (error as Error).message } }, what),
      });
    } catch (error) {
      const message = (error as Error).message;
      if (!(error instanceof StoreUnavailableError) || Date.now() >= giveUpAt) {
        throw new ConfigError('DATABASE_URL', `${database}: ${message}`);
      }
      log.warn({ database, err: { message } }, 'the database does not answer yet; trying again');
      await new Promise((resolve) => setTimeout(resolve, DATABASE_RETRY_MS));
    }
  }
}
