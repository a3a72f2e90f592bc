import path from 'node:path';
import { loadMappings } from '../mappings/load-mappings';
import type { CliIo } from './cli-io';

/**
 * `flowhook validate [dir]`: loads every mapping file as the server would (unset variables are
 * reported, not errors) and prints each problem with file, line, column and key path.
 * Exit 0 when every file is valid, 1 otherwise.
 */
export function validateCommand(
  dir: string | undefined,
  options: { json?: boolean },
  io: CliIo,
): number {
  const folder = path.resolve(io.cwd, dir ?? io.env.MAPPINGS_DIR ?? 'mappings');
  // Unset variables stand as their names, so a file waiting for a secret is still compiled and
  // every JSONPath, regex and template in it checked.
  const set = loadMappings(folder, io.env, { placeholders: true });
  const unset = set.unset ?? new Map<string, readonly string[]>();
  const sources = [...set.sources.values()]
    .filter((s) => !unset.has(s.name))
    .map((s) => ({ name: s.name, file: s.file, routes: s.routes.length }));
  const waiting = [...unset].map(([name, names]) => ({
    name,
    files: [set.sources.get(name)?.file ?? name],
    reason: `disabled until ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} set`,
  }));
  if (options.json) {
    io.out(
      `${JSON.stringify({ dir: folder, valid: set.errors.length === 0, sources, waiting, errors: set.errors, warnings: set.warnings }, null, 2)}\n`,
    );
    return set.errors.length === 0 ? 0 : 1;
  }
  for (const problem of set.errors)
    io.err(`${path.join(folder, problem.file)}: ${problem.message}\n`);
  for (const problem of set.warnings)
    io.err(`${path.join(folder, problem.file)}: warning: ${problem.message}\n`);
  for (const source of waiting)
    io.out(`${source.files.join(', ')}: source "${source.name}" ${source.reason}\n`);
  const files = sources.length + waiting.length;
  io.out(
    set.errors.length === 0
      ? `${files} mapping file(s) valid in ${folder}\n`
      : `${set.errors.length} problem(s) in ${folder}\n`,
  );
  return set.errors.length === 0 ? 0 : 1;
}
