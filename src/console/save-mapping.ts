import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Where the previous versions of saved files are kept, inside MAPPINGS_DIR (never loaded). */
export const BACKUP_DIR = '.flowhook-backup';

export interface SavedMapping {
  readonly file: string;
  /** The new file's version (the same short hash hot reload computes). */
  readonly version: string;
  /** The previous file, relative to MAPPINGS_DIR; null when there was none. */
  readonly backup: string | null;
}

export const versionOf = (text: string) =>
  createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * Writes a mapping file atomically: the text goes to a temporary file in the same folder, is
 * flushed to disk, and renamed over the old one, so hot reload (and a crash) sees either the old
 * file or the new one, never half of it. The old file is copied first to
 * `.flowhook-backup/<file>.<time>.bak` (a name the loader never reads).
 */
export function saveMapping(
  dir: string,
  file: string,
  text: string,
  now = new Date(),
): SavedMapping {
  const target = path.join(dir, file);
  let backup: string | null = null;
  if (fs.existsSync(target)) {
    fs.mkdirSync(path.join(dir, BACKUP_DIR), { recursive: true });
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    backup = path.join(BACKUP_DIR, `${file}.${stamp}.bak`);
    fs.copyFileSync(target, path.join(dir, backup));
  }
  const temporary = path.join(dir, `.${file}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(temporary, 'wx', 0o644);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(temporary, target);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
  return { file, version: versionOf(text), backup };
}
