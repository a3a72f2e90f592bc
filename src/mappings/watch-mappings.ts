import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../logger';
import { loadText, readMappingFile, type FileOutcome } from './load-file';
import { assembleMappings, listMappingFiles } from './load-mappings';
import { rejectLimitConflicts } from '../limits/reject-limit-conflicts';
import { logProblems } from './log-problems';
import { mappingProblems } from './mapping-problems';
import type { CompiledSource, MappingSet } from './types';

type Env = Readonly<Record<string, string | undefined>>;

export interface MappingRegistry {
  /** The mappings now; a request takes this once and keeps it, so a reload never changes it mid-way. */
  current(): MappingSet;
  /** Reads the folder again now (the watcher calls this after changes settle). */
  reload(): MappingSet;
  /**
   * Starts watching the folder; resolves when the watcher is ready. A reload runs `debounceMs`
   * after the last change event, and never sooner than SETTLE_MS after it.
   */
  watch(options?: { debounceMs?: number; usePolling?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/**
 * chokidar (4.x) emits at most one `change` per file in 50 ms and drops the others, with no
 * trailing event; its raw listener drops events within 5 ms the same way. A file saved again
 * right after a save that was reported would never be seen: the registry kept the earlier
 * version until the next edit (issue 10). A reload reads every file, so it only has to run after
 * that window has closed: whatever was written in it is on disk by then, and an edit after it
 * is reported again.
 */
const SETTLE_MS = 75;

interface FileState {
  readonly text: string;
  readonly outcome: FileOutcome;
}

/**
 * The mappings of a folder, kept current. A reload reads every file, compiles only those whose
 * text changed, keeps the last good version of a file whose new text is broken, and swaps the
 * whole set in one assignment: no request ever sees half a reload.
 */
export function createMappingRegistry(dir: string, env: Env, logger?: Logger): MappingRegistry {
  let files = new Map<string, FileState>();
  const lastGood = new Map<string, CompiledSource>();
  let set: MappingSet;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  const reload = (): MappingSet => {
    const next = new Map<string, FileState>();
    for (const file of listMappingFiles(dir)) {
      const text = readMappingFile(dir, file);
      if (typeof text !== 'string') continue; // removed between the listing and the read
      const previous = files.get(file);
      const outcome = previous?.text === text ? previous.outcome : loadText(file, text, env);
      next.set(file, { text, outcome });
    }
    // Checked on every reload (not stored with the file): editing the other file can end a conflict.
    const outcomes = rejectLimitConflicts(
      [...next.values()].map((state) => state.outcome),
      lastGood,
    );
    for (const outcome of outcomes)
      if (outcome.kind === 'ready') lastGood.set(outcome.file, outcome.source);
    for (const file of lastGood.keys()) if (!next.has(file)) lastGood.delete(file);
    const before = set;
    const changed = [...next.keys()].filter(
      (file) => files.get(file)?.text !== next.get(file)?.text,
    );
    const removed = [...files.keys()].filter((file) => !next.has(file));
    files = next;
    set = assembleMappings(dir, outcomes, lastGood);
    if (before !== undefined && (changed.length > 0 || removed.length > 0))
      report(before, set, changed, removed);
    return set;
  };

  const report = (before: MappingSet, after: MappingSet, changed: string[], removed: string[]) => {
    if (!logger) return;
    const added = [...after.sources.keys()].filter((name) => !before.sources.has(name));
    const gone = [...before.sources.keys()].filter((name) => !after.sources.has(name));
    logger.info(
      { changed, removed, added, gone, sources: after.sources.size },
      'mappings reloaded',
    );
    logProblems(logger, mappingProblems(after, changed));
  };

  set = reload();
  return {
    current: () => set,
    reload,
    async watch(options = {}) {
      const debounceMs = Math.max(options.debounceMs ?? 100, SETTLE_MS);
      watcher = watch(dir, {
        depth: 0,
        ignoreInitial: true,
        usePolling: options.usePolling ?? false,
      });
      // Editors save in several steps (temp file, rename); reload once the burst is over.
      watcher.on('all', () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          try {
            reload();
          } catch (error) {
            logger?.error(
              { err: error },
              'mappings reload failed; the previous mappings keep serving',
            );
          }
        }, debounceMs);
      });
      await new Promise<void>((resolve) => watcher?.once('ready', () => resolve()));
    },
    async close() {
      clearTimeout(timer);
      await watcher?.close();
    },
  };
}
