import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

export interface DotEnv {
  readonly file: string;
  /** The variables the file set. */
  readonly loaded: string[];
  /** The variables the file names but the environment already had: the environment wins. */
  readonly kept: string[];
}

/**
 * Reads `.env` in `cwd` when present (Node's own parser, as `process.loadEnvFile`), into `env`
 * without overwriting a variable the environment already has. Undefined when there is no file.
 * A file that cannot be read is an error: a configuration the user wrote must not be skipped
 * silently.
 */
export function loadDotEnv(
  cwd: string,
  env: Record<string, string | undefined>,
): DotEnv | undefined {
  const file = path.join(cwd, '.env');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`.env: cannot be read (${(error as NodeJS.ErrnoException).code})`, {
      cause: error,
    });
  }
  const loaded: string[] = [];
  const kept: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] !== undefined) kept.push(name);
    else {
      env[name] = value;
      loaded.push(name);
    }
  }
  return { file, loaded: loaded.sort(), kept: kept.sort() };
}
