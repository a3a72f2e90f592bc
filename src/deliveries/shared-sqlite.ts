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
