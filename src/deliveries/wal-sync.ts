import fs from 'node:fs';

/** The fsync of a SQLite database's WAL file, made by flowhook instead of by SQLite. */
export interface WalSync {
  /** fsync on the thread pool: resolves once every frame written before the call is on disk. */
  sync(): Promise<void>;
  /** fsync on this thread (the store is closing). */
  syncNow(): void;
  /** Closes the file once no sync is in flight. */
  close(): void;
}

/**
 * Opens `<database>-wal` for fsync (issue 15). With synchronous=FULL, SQLite fsyncs the WAL in
 * every commit, on the event loop: 1–5 ms during which no request moves, a third to a half of a
 * busy process's time. With synchronous=NORMAL plus this, a commit only writes its frames, and the
 * group commit fsyncs the file on the thread pool before any write of the group resolves: the
 * same durability (SQLite's FULL adds exactly this fsync after each commit in WAL mode), off the
 * loop, and one fsync covers every group committed while the previous one ran.
 * Undefined when the WAL file is not there (the caller keeps synchronous=FULL then). The WAL is
 * not deleted while this process holds a connection (SQLite removes it on the last close only),
 * and a checkpoint's reset truncates it in place, so the descriptor stays the WAL's.
 */
export function openWalSync(databaseFile: string): WalSync | undefined {
  let fd: number;
  try {
    fd = fs.openSync(`${databaseFile}-wal`, fs.constants.O_RDWR);
  } catch {
    return undefined;
  }
  let inFlight = 0;
  let closing = false;
  const closeIfIdle = () => {
    if (closing && inFlight === 0) fs.close(fd, () => undefined);
  };
  return {
    sync() {
      inFlight += 1;
      return new Promise<void>((resolve, reject) => {
        fs.fsync(fd, (error) => {
          inFlight -= 1;
          closeIfIdle();
          if (error) reject(error);
          else resolve();
        });
      });
    },
    syncNow() {
      fs.fsyncSync(fd);
    },
    close() {
      if (closing) return;
      closing = true;
      closeIfIdle();
    },
  };
}
