import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { load, YAMLException } from 'js-yaml';
import { formatPath, PathError, type KeyPath } from '../path-error';
import { compileMapping } from './compile-mapping';
import { locate } from './locate';
import { substituteEnv } from './substitute-env';
import type { CompiledSource, LoadProblem, MappingDef } from './types';
import { validateMapping } from './validate-mapping';

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

/** loadFile for text already read (hot reload compares texts before compiling again). */
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
  const name = typeof declared === 'string' && declared !== '' ? declared : fallbackName;
  const at = (problemPath: KeyPath, message: string, atKey = false) =>
    problemAt(file, text, problemPath, message, atKey);
  if (!SOURCE_NAME.test(name)) {
    const message = `"${name}" (from the file name) cannot be a URL segment; rename the file or set source:`;
    return invalid(file, fallbackName, [{ file, message }]);
  }
  const problems = validateMapping(document);
  if (problems.length > 0) {
    return invalid(
      file,
      name,
      problems.map((p) => at(p.path, p.message, p.atKey)),
    );
  }
  const placeholder = options.placeholders ? (name: string) => name : undefined;
  const { value, missing } = substituteEnv(document as MappingDef, env, placeholder);
  const secrets = options.placeholders ? [] : configuredSecrets(document, env);
  if (missing.length > 0 && !options.placeholders) {
    const reason = `disabled until ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} set`;
    return { kind: 'missing-env', file, name, reason, secrets };
  }
  // Again with the values in place: `flow: "${F:-}"` must not become an empty flow id.
  const substituted = validateMapping(value);
  if (substituted.length > 0) {
    const list = substituted.map((p) => at(p.path, `after \${VAR} substitution, ${p.message}`));
    return { ...invalid(file, name, list), secrets };
  }
  const version = createHash('sha256').update(text).digest('hex').slice(0, 12);
  let source: CompiledSource;
  try {
    source = compileMapping(value, { name, file, version });
  } catch (error) {
    if (!(error instanceof PathError)) throw error;
    return { ...invalid(file, name, [at(error.path, error.message)]), secrets };
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
    secrets,
    ...(missing.length > 0 ? { unset: missing } : {}),
  };
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
): LoadProblem {
  const position = locate(text, keyPath, atKey);
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
