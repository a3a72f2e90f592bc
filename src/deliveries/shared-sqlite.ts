import type Database from 'better-sqlite3';
import type { GroupCommit } from './sqlite-group-commit';

/** A SQLite delivery store's connection and its group commit, for the limits store. */
export interface SharedSqlite {
  readonly db: Database.Database;
  readonly writes: GroupCommit;
}

const connections = new WeakMap<object, SharedSqlite>();

/**
 * The connection of a SQLite delivery store, for the limits store of the same process: one
 * connection per process rather than two. With two, each commit of one emptied the other's page
 * cache (in WAL mode a connection drops its cache when another has committed since its last
 * read), so every transaction read its pages again from the file (issue 15: 13 reads per async
 * delivery instead of 2.4). The limits' writes then join the deliveries' commits. The delivery
 * store owns the connection (its close() closes it); a user of the shared one never does.
 */
export function shareConnection(store: object, connection: SharedSqlite): void {
  connections.set(store, connection);
}

/** The connection of a store opened by openSqliteStore, or undefined for any other store. */
export function sharedConnectionOf(store: object): SharedSqlite | undefined {
  return connections.get(store);
}

/**
 * The WAL is copied into the database file (a checkpoint) once it holds this many pages (16 MB):
 * SQLite's default is 1000. A checkpoint runs inside the commit that crosses the mark, on the
 * event loop, and ends with an fsync of the database file that holds every request still for its
 * length: 4 ms every ~0.1 s at 1000 pages under an async load, 6% of the process's time, against
 * 8 ms every ~0.35 s (2.7%) at 4000. A page that many commits change (an index's last leaf, the
 * counts) is copied once per checkpoint, so fewer are copied: 0.34 per WAL frame written against
 * 0.44 (issue 15, docs/performance.md). Larger windows stalled less still but each stall grew
 * (11 ms at 8000 pages, 18 at 16000).
 */
export const WAL_CHECKPOINT_PAGES = 4000;

/** How long a statement waits for another process's write transaction before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * What every connection flowhook opens to its SQLite file sets (the delivery store's and the
 * limits store's own): the file's processes wait for each other's writes, the WAL, commits that
 * write it without an fsync (the group commit fsyncs it when STORE_SYNC=full), and checkpoints
 * every WAL_CHECKPOINT_PAGES: a commit of any of them must not checkpoint sooner.
 */
export function setWalPragmas(db: Database.Database): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  // NORMAL: a commit writes the WAL without an fsync; for STORE_SYNC=full the group commit
  // fsyncs it (off the event loop) before a write resolves, so "acknowledged" survives a power
  // loss too, not only a process crash.
  db.pragma('synchronous = NORMAL');
  db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
}
