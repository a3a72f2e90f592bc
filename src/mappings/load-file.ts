import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { load, YAMLException } from 'js-yaml';
import { formatPath, PathErrors, type KeyPath } from '../path-error';
import { compileMapping } from './compile-mapping';
import { didYouMean } from './did-you-mean';
import { locate } from './locate';
import { substituteEnv } from './substitute-env';
import type { CompiledSource, LoadProblem, MappingDef } from './types';
import { validateMapping, type SchemaProblem } from './validate-mapping';

type Env = Readonly<Record<string, string | undefined>>;

/** The schema's pattern for `source`; a name taken from the file name must fit it too. */
const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type FileOutcome = (
  | {
      kind: 'ready';
      file: string;
      source: CompiledSource;
      warnings: LoadProblem[];
      /** With placeholders: the unset variables that stand as their names. */
      unset?: string[];
    }
  | { kind: 'missing-env'; file: string; name: string; reason: string }
  | { kind: 'invalid'; file: string; name: string; problems: LoadProblem[] }
) & {
  /**
   * The file's `verify` secrets whose variables are set, whatever the outcome: a source that
   * waits for its flow id still has a secret to keep out of every stored record and answer.
   */
  secrets?: readonly string[];
  /** Each unset `${VAR}` of the file, where it is first used, whatever the outcome. */
  unsetVariables?: readonly LoadProblem[];
};

/**
 * Reads, parses, validates, substitutes and compiles one mapping file. Never throws: every
 * problem is returned with the file, line, column and key path it concerns.
 */
export interface LoadOptions {
  /**
   * Tools (flowhook validate, flowhook test) compile a file whose variables are unset, with each
   * unset name standing in for its value, so every other problem is still found.
   */
  readonly placeholders?: boolean;
}

export function loadFile(
  dir: string,
  file: string,
  env: Env,
  options: LoadOptions = {},
): FileOutcome {
  const text = readMappingFile(dir, file);
  if (typeof text !== 'string') {
    const fallbackName = path.basename(file).replace(/\.ya?ml$/i, '');
    return invalid(file, fallbackName, [{ file, message: `cannot be read (${text.code})` }]);
  }
  return loadText(file, text, env, options);
}

/** The file's text, or the error code when it cannot be read. */
export function readMappingFile(dir: string, file: string): string | { code: string } {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } catch (error) {
    return { code: (error as NodeJS.ErrnoException).code ?? 'EIO' };
  }
}

/**
 * loadFile for text already read (hot reload compares texts before compiling again). Every stage
 * runs whatever the stages before it found (issue 10): the schema check, `${VAR}` substitution
 * and compiling, so the outcome lists every problem of the file at once. Only a YAML syntax
 * error stops it: there is no document to check.
 */
export function loadText(
  file: string,
  text: string,
  env: Env,
  options: LoadOptions = {},
): FileOutcome {
  const fallbackName = path.basename(file).replace(/\.ya?ml$/i, '');
  let document: unknown;
  try {
    document = load(text, { filename: file });
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    return invalid(file, fallbackName, [yamlProblem(file, text, error)]);
  }
  const declared = (document as { source?: unknown } | null)?.source;
  const named = typeof declared === 'string' && declared !== '' ? declared : fallbackName;
  const errors: LoadProblem[] = [];
  if (!SOURCE_NAME.test(named)) {
    const message = `"${named}" (from the file name) cannot be a URL segment; rename the file or set source:`;
    errors.push({ file, message });
  }
  const name = errors.length > 0 ? fallbackName : named;
  const schema = validateMapping(document);
  errors.push(...schema.map((p) => problemAt(file, text, p.path, p.message, p.atKey ?? false)));
  // Unset variables stand as their names while compiling, so the rest of the file is checked
  // even when the source will wait for them.
  const { value, missing, missingAt } = substituteEnv(document as MappingDef, env, (n) => n);
  const unsetVariables = [...missingAt].map(([variable, [first]]) =>
    unsetProblem(file, text, variable, first, env),
  );
  // A value standing as a variable's name may not fit where the value goes (a JSONPath, a
  // duration): the unset variable explains that, not a problem of its own. Such a problem is at
  // the value, or above it quoting the name (`JSONPath "VAR" must start with $`).
  const placeheld = [...missingAt].flatMap(([variable, paths]) =>
    paths.map((keyPath) => ({ variable, keyPath })),
  );
  const explainedByUnset = (problemPath: KeyPath, message: string) =>
    placeheld.some(
      ({ variable, keyPath }) =>
        startsWith(problemPath, keyPath) ||
        (startsWith(keyPath, problemPath) && message.includes(variable)),
    );
  const at = (problemPath: KeyPath, message: string, atKey = false) =>
    problemAt(file, text, problemPath, message, atKey);
  const atUnlessPlaceheld = (problemPath: KeyPath, message: string) =>
    explainedByUnset(problemPath, message) ? undefined : at(problemPath, message);
  const secrets = options.placeholders ? [] : configuredSecrets(document, env);
  if (schema.length === 0) {
    // Again with the values in place: `flow: "${F:-}"` must not become an empty flow id.
    const substituted = validateMapping(value);
    for (const p of substituted) {
      const problem = atUnlessPlaceheld(p.path, `after \${VAR} substitution, ${p.message}`);
      if (problem) errors.push(problem);
    }
  }
  const version = createHash('sha256').update(text).digest('hex').slice(0, 12);
  let source: CompiledSource | undefined;
  if (errors.length === 0) {
    source = compileOrCollect(value, { name, file, version }, errors, atUnlessPlaceheld);
  } else if (isObject(document)) {
    // Compiled too, for the problems the schema cannot see (a JSONPath, a regex) in the parts the
    // schema found nothing wrong with; a part it already explains is not reported twice.
    const compileErrors: LoadProblem[] = [];
    compileOrCollect(value, { name, file, version }, compileErrors, atUnlessPlaceheld, schema);
    errors.push(...compileErrors);
  }
  const common = { secrets, unsetVariables };
  if (errors.length > 0) return { ...invalid(file, name, errors), ...common };
  // Not compiled, with no problem but its unset variables' doing (a JSONPath standing as its
  // variable's name): it waits for them, tools included.
  if (source === undefined || (missing.length > 0 && !options.placeholders)) {
    const reason = `disabled until ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} set`;
    return { kind: 'missing-env', file, name, reason, ...common };
  }
  const warnings =
    source.provider === 'none'
      ? [{ file, message: `source "${name}" has verify.provider: none; anyone can call it` }]
      : [];
  return {
    kind: 'ready',
    file,
    source,
    warnings,
    ...common,
    ...(missing.length > 0 ? { unset: missing } : {}),
  };
}

/**
 * compileMapping, its problems added to `errors` with their positions. With `schema` (the file
 * has schema problems), a document that does not fit the schema may break the compiler in ways
 * the schema problems already explain: those are left out, as is any problem on the same branch
 * of the file as a schema problem.
 */
function compileOrCollect(
  value: MappingDef,
  meta: { name: string; file: string; version: string },
  errors: LoadProblem[],
  at: (problemPath: KeyPath, message: string) => LoadProblem | undefined,
  schema?: readonly SchemaProblem[],
): CompiledSource | undefined {
  try {
    return compileMapping(value, meta);
  } catch (error) {
    if (!(error instanceof PathErrors)) {
      if (schema) return undefined;
      throw error;
    }
    const explained = (p: KeyPath) =>
      schema?.some((s) => s.path.length > 0 && (startsWith(p, s.path) || startsWith(s.path, p)));
    for (const problem of error.errors) {
      const found = explained(problem.path) ? undefined : at(problem.path, problem.message);
      if (found) errors.push(found);
    }
    return undefined;
  }
}

function startsWith(path: KeyPath, prefix: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((part, i) => path[i] === part);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** An unset variable: where the file uses it, and a set variable one edit away, if any. */
function unsetProblem(
  file: string,
  text: string,
  variable: string,
  keyPath: KeyPath,
  env: Env,
): LoadProblem {
  const set = Object.keys(env).filter((key) => key !== variable && env[key]);
  const guess = didYouMean(variable, set, 1);
  const hint = guess ? ` — did you mean ${guess}?` : '';
  // The value may hold more than the reference ("https://${HOST}/x"): point at the reference.
  const value = locate(text, keyPath);
  const line = value && text.split('\n')[value.line - 1];
  const index = line ? line.indexOf(`\${${variable}`, value.column - 1) : -1;
  const position = value && index >= 0 ? { line: value.line, column: index + 1 } : value;
  const message = `\${${variable}} is not set${hint}`;
  return { ...problemAt(file, text, keyPath, message, false, position), variable };
}

/** `verify.secret` and `verify.secrets` with their variables set (issue 9, item 6). */
function configuredSecrets(document: unknown, env: Env): string[] {
  const verify = (document as { verify?: { secret?: unknown; secrets?: unknown } } | null)?.verify;
  const written = [verify?.secret, ...(Array.isArray(verify?.secrets) ? verify.secrets : [])];
  const found: string[] = [];
  for (const text of written) {
    if (typeof text !== 'string') continue;
    const { value, missing } = substituteEnv(text, env);
    if (missing.length === 0 && value.trim() !== '') found.push(value);
  }
  return found;
}

function invalid(file: string, name: string, problems: LoadProblem[]): FileOutcome {
  return { kind: 'invalid', file, name, problems };
}

function problemAt(
  file: string,
  text: string,
  keyPath: KeyPath,
  message: string,
  atKey: boolean,
  position = locate(text, keyPath, atKey),
): LoadProblem {
  const shownPath = formatPath(keyPath);
  const where = position ? `line ${position.line}, column ${position.column}: ` : '';
  return {
    file,
    message: `${where}${shownPath === '' ? '' : `${shownPath}: `}${message}`,
    ...(position ?? {}),
    ...(shownPath === '' ? {} : { path: shownPath }),
  };
}

function yamlProblem(file: string, text: string, error: YAMLException): LoadProblem {
  const { line, column } = error.mark ?? { line: 0, column: 0 };
  const source = text.split('\n')[line] ?? '';
  // `secret: ${X}` inside `{ … }` reads `{X}` as a nested mapping; quoting fixes it.
  const hint =
    /\$\{/.test(source) && /[{[]/.test(source.replace(/\$\{[^}]*\}/g, ''))
      ? ' (hint: quote values that use ${VAR} inside { } or [ ], e.g. secret: "${VAR}")'
      : '';
  return {
    file,
    message: `line ${line + 1}, column ${column + 1}: YAML syntax error: ${error.reason}${hint}`,
    line: line + 1,
    column: column + 1,
  };
}
