import path from 'node:path';
import { loadMappings } from '../mappings/load-mappings';
import { mappingProblems } from '../mappings/mapping-problems';
import type { CliIo } from './cli-io';

export interface ValidateOptions {
  json?: boolean;
  /** An unset variable is an error too (CI: a source that would wait for one fails the check). */
  strict?: boolean;
}

/**
 * `flowhook validate [dir]`: loads every mapping file as the server would and prints every problem
 * of every file (the list the server logs and /readyz shows), each with file, line, column and
 * key path. Unset variables are reported, not errors, unless --strict. Exit 0 when every file is
 * valid, 1 otherwise.
 */
export function validateCommand(
  dir: string | undefined,
  options: ValidateOptions,
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
  const waiting = [
    ...[...unset].map(([name, names]) => ({
      name,
      files: [set.sources.get(name)?.file ?? name],
      reason: `disabled until ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} set`,
    })),
    // Not compiled at all while a variable stands as its name (a JSONPath from the environment).
    ...[...set.disabled.values()]
      .filter((d) => d.cause === 'missing-env')
      .map(({ name, files, reason }) => ({ name, files, reason })),
  ];
  const problems = mappingProblems(set);
  const failing = problems.filter((p) => p.variable === undefined || options.strict);
  const valid = failing.length === 0;
  if (options.json) {
    io.out(
      `${JSON.stringify({ dir: folder, valid, strict: options.strict === true, sources, waiting, problems, errors: set.errors, warnings: set.warnings }, null, 2)}\n`,
    );
    return valid ? 0 : 1;
  }
  for (const problem of problems) {
    const line = `${path.join(folder, problem.file)}: ${problem.message}\n`;
    if (failing.includes(problem)) io.err(line);
    else io.out(line);
  }
  for (const problem of set.warnings)
    io.err(`${path.join(folder, problem.file)}: warning: ${problem.message}\n`);
  for (const source of waiting)
    io.out(`${source.files.join(', ')}: source "${source.name}" ${source.reason}\n`);
  const files = sources.length + waiting.length;
  if (valid) {
    const strictHint =
      waiting.length > 0 ? ' (unset variables are not errors; --strict makes them errors)' : '';
    io.out(`${files} mapping file(s) valid in ${folder}${strictHint}\n`);
  } else {
    const unsetCount = problems.length - set.errors.length;
    const counted = options.strict
      ? ', unset variables included (--strict)'
      : unsetCount > 0
        ? `, and ${unsetCount} unset variable(s) (not errors without --strict)`
        : '';
    io.out(`${failing.length} problem(s) in ${folder}${counted}\n`);
  }
  return valid ? 0 : 1;
}
