import fs from 'node:fs';
import { rejectLimitConflicts } from '../limits/reject-limit-conflicts';
import { loadFile, type FileOutcome, type LoadOptions } from './load-file';
import type { CompiledSource, DisabledSource, LoadProblem, MappingSet } from './types';

export class MappingsDirError extends Error {
  constructor(dir: string, problem: string) {
    super(`MAPPINGS_DIR: ${dir} ${problem}`);
    this.name = 'MappingsDirError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** The mapping files of a folder, sorted; throws MappingsDirError when the folder cannot be read. */
export function listMappingFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MappingsDirError(
      dir,
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`,
    );
  }
  return entries.filter((name) => /\.ya?ml$/i.test(name)).sort();
}

/**
 * Loads every *.yaml / *.yml file of `dir`. A file that cannot be used disables its own source
 * only; the others load. Throws MappingsDirError only when the folder itself cannot be read.
 */
export function loadMappings(
  dir: string,
  env: Env = process.env,
  options: LoadOptions = {},
): MappingSet {
  const outcomes = listMappingFiles(dir).map((file) => loadFile(dir, file, env, options));
  return assembleMappings(dir, rejectLimitConflicts(outcomes));
}

/**
 * Builds the lookup from per-file outcomes. `lastGood` (hot reload): for a file whose new version
 * is invalid, the source compiled from its last good version, which keeps serving meanwhile.
 */
export function assembleMappings(
  dir: string,
  outcomes: readonly FileOutcome[],
  lastGood: ReadonlyMap<string, CompiledSource> = new Map(),
): MappingSet {
  const errors: LoadProblem[] = [];
  const warnings: LoadProblem[] = [];
  const unsetVariables: LoadProblem[] = [];
  const unset = new Map<string, readonly string[]>();
  const secrets = new Set<string>();
  const byName = new Map<
    string,
    { file: string; outcome: FileOutcome; serving?: CompiledSource }[]
  >();
  for (const outcome of outcomes) {
    for (const secret of outcome.secrets ?? []) secrets.add(secret);
    unsetVariables.push(...(outcome.unsetVariables ?? []));
    let name: string;
    let serving: CompiledSource | undefined;
    if (outcome.kind === 'ready') {
      name = outcome.source.name;
      serving = outcome.source;
      warnings.push(...outcome.warnings);
      if (outcome.unset) unset.set(name, outcome.unset);
    } else {
      name = outcome.name;
      // A broken edit (or one that names an unset variable) keeps the last good version serving.
      serving = lastGood.get(outcome.file);
      const note = serving ? ' (the last good version keeps serving)' : '';
      if (outcome.kind === 'invalid') {
        errors.push(...outcome.problems.map((p) => ({ ...p, message: p.message + note })));
      } else if (serving) {
        errors.push({
          file: outcome.file,
          message: `source "${outcome.name}" ${outcome.reason}${note}`,
        });
      }
      if (serving) {
        name = serving.name;
        for (const secret of serving.verifySpec.secrets) secrets.add(secret);
      }
    }
    byName.set(name, [...(byName.get(name) ?? []), { file: outcome.file, outcome, serving }]);
  }

  const sources = new Map<string, CompiledSource>();
  const disabled = new Map<string, DisabledSource>();
  for (const [name, claims] of byName) {
    const files = claims.map((claim) => claim.file);
    if (claims.length > 1) {
      // Two files claiming one URL: running either could run the wrong flow, so neither runs.
      const reason = `source "${name}" is defined by more than one file: ${files.join(', ')}; give each file its own \`source:\` (its URL is /hooks/<source>), or remove the old file`;
      for (const file of files) errors.push({ file, message: reason });
      disabled.set(name, { name, files, reason, cause: 'invalid' });
      continue;
    }
    const [{ outcome, serving }] = claims;
    if (serving) sources.set(name, serving);
    else if (outcome.kind === 'missing-env') {
      disabled.set(name, { name, files, reason: outcome.reason, cause: 'missing-env' });
    } else if (outcome.kind === 'invalid') {
      const reason = `its mapping file has errors: ${outcome.problems.map((p) => p.message).join('; ')}`;
      disabled.set(name, { name, files, reason, cause: 'invalid' });
    }
  }
  return {
    dir,
    sources,
    disabled,
    errors,
    warnings,
    unsetVariables,
    secrets: [...secrets],
    loadedAt: Date.now(),
    ...(unset.size > 0 ? { unset } : {}),
  };
}
