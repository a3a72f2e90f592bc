import type { Pool } from 'pg';
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './postgres-migrations';
import { ADVISORY_LOCK_SPACE, MIGRATION_LOCK } from './advisory-locks';
import { inTransaction } from './in-transaction';

/**
 * Brings the database to the last of `migrations` and returns the versions before and after.
 * Each migration runs in a transaction of its own that first takes an advisory lock, so several
 * instances starting at once migrate one after the other: the second finds the work done. Throws
 * when the database is newer than this code knows, rather than guess. `where` names the database
 * in that message (redacted: no password).
 */
export async function migratePostgres(
  pool: Pool,
  where: string,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<{ from: number; to: number }> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} has version ${m.version}`);
  });
  const latest = migrations.length;
  let from: number | undefined;
  // One migration per transaction (inTransaction: a connection lost meanwhile fails the start
  // rather than the process), until the schema is the latest.
  for (;;) {
    const current = await inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [
        ADVISORY_LOCK_SPACE,
        MIGRATION_LOCK,
      ]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS flowhook_schema (
           version    integer     NOT NULL PRIMARY KEY,
           name       text        NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ version: number }>(
        'SELECT coalesce(max(version), 0)::integer AS version FROM flowhook_schema',
      );
      const version = rows[0].version;
      if (version > latest) {
        throw new Error(
          `delivery store ${where} has schema version ${version}, newer than this flowhook ` +
            `knows (${latest}); upgrade flowhook, or point DATABASE_URL at another database`,
        );
      }
      if (version < latest) {
        const next = migrations[version];
        await client.query(next.sql);
        await client.query('INSERT INTO flowhook_schema (version, name) VALUES ($1, $2)', [
          next.version,
          next.name,
        ]);
      }
      return version;
    });
    from ??= current;
    if (current === latest) return { from, to: latest };
  }
}
