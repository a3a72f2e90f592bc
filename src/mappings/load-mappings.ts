import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { load, YAMLException } from 'js-yaml';
import { compileMapping } from './compile-mapping';
import { substituteEnv } from './substitute-env';
import type { CompiledSource, DisabledSource, LoadProblem, MappingDef, MappingSet } from './types';
import { validateMapping } from './validate-mapping';

export class MappingsDirError extends Error {
  constructor(dir: string, problem: string) {
    super(`MAPPINGS_DIR: ${dir} ${problem}`);
    this.name = 'MappingsDirError';
  }
}

/** The schema's pattern for `source`; a name taken from the file name must fit it too. */
const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

type Env = Readonly<Record<string, string | undefined>>;

type FileOutcome =
  | { kind: 'ready'; source: CompiledSource }
  | { kind: 'disabled'; name: string; file: string; reason: string; error: boolean };

/**
 * Loads every *.yaml / *.yml file of `dir`. A file that cannot be used disables its own source
 * only; the others load. Throws MappingsDirError only when the folder itself cannot be read.
 */
export function loadMappings(dir: string, env: Env = process.env): MappingSet {
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
  const files = entries.filter((name) => /\.ya?ml$/i.test(name)).sort();
  const errors: LoadProblem[] = [];
  const warnings: LoadProblem[] = [];
  const byName = new Map<string, FileOutcome[]>();

  for (const file of files) {
    const outcome = loadFile(dir, file, env, warnings);
    const name = outcome.kind === 'ready' ? outcome.source.name : outcome.name;
    if (outcome.kind === 'disabled' && outcome.error)
      errors.push({ file, message: outcome.reason });
    byName.set(name, [...(byName.get(name) ?? []), outcome]);
  }

  const sources = new Map<string, CompiledSource>();
  const disabled = new Map<string, DisabledSource>();
  for (const [name, outcomes] of byName) {
    const names = outcomes.map((o) => (o.kind === 'ready' ? o.source.file : o.file));
    if (outcomes.length > 1) {
      // Two files claiming one URL: running either could run the wrong flow, so neither runs.
      const reason = `source "${name}" is defined by more than one file: ${names.join(', ')}`;
      for (const file of names) errors.push({ file, message: reason });
      disabled.set(name, { name, files: names, reason, cause: 'invalid' });
      continue;
    }
    const [outcome] = outcomes;
    if (outcome.kind === 'ready') sources.set(name, outcome.source);
    else {
      const cause = outcome.error ? 'invalid' : 'missing-env';
      disabled.set(name, { name, files: names, reason: outcome.reason, cause });
    }
  }
  return { dir, sources, disabled, errors, warnings };
}

function loadFile(dir: string, file: string, env: Env, warnings: LoadProblem[]): FileOutcome {
  const fallbackName = path.basename(file).replace(/\.ya?ml$/i, '');
  const fail = (reason: string, name = fallbackName): FileOutcome => ({
    kind: 'disabled',
    name,
    file,
    reason,
    error: true,
  });
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, file), 'utf8');
  } catch (error) {
    return fail(`cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  let document: unknown;
  try {
    document = load(text, { filename: file });
  } catch (error) {
    if (error instanceof YAMLException) {
      const { line, column } = error.mark ?? { line: 0, column: 0 };
      const source = text.split('\n')[line] ?? '';
      // `secret: ${X}` inside `{ … }` reads `{X}` as a nested mapping; quoting fixes it.
      const hint =
        /\$\{/.test(source) && /[{[]/.test(source.replace(/\$\{[^}]*\}/g, ''))
          ? ' (hint: quote values that use ${VAR} inside { } or [ ], e.g. secret: "${VAR}")'
          : '';
      return fail(
        `YAML syntax error at line ${line + 1}, column ${column + 1}: ${error.reason}${hint}`,
      );
    }
    throw error;
  }
  const declared = (document as { source?: unknown } | null)?.source;
  const name = typeof declared === 'string' && declared !== '' ? declared : fallbackName;
  if (!SOURCE_NAME.test(name)) {
    return fail(
      `"${name}" (from the file name) cannot be a URL segment; rename the file or set source:`,
    );
  }
  const problems = validateMapping(document);
  if (problems.length > 0) return fail(problems.join('; '), name);

  const { value, missing } = substituteEnv(document as MappingDef, env);
  if (missing.length > 0) {
    const reason = `disabled until ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} set`;
    return { kind: 'disabled', name, file, reason, error: false };
  }
  // Again with the values in place: `flow: "${F:-}"` must not become an empty flow id.
  const substituted = validateMapping(value);
  if (substituted.length > 0) {
    return fail(`after \${VAR} substitution: ${substituted.join('; ')}`, name);
  }
  const version = createHash('sha256').update(text).digest('hex').slice(0, 12);
  let source: CompiledSource;
  try {
    source = compileMapping(value, { name, file, version });
  } catch (error) {
    return fail((error as Error).message, name);
  }
  if (source.provider === 'none') {
    warnings.push({
      file,
      message: `source "${name}" has verify.provider: none; anyone can call it`,
    });
  }
  return { kind: 'ready', source };
}
