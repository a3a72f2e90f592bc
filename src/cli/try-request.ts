import fs from 'node:fs';
import path from 'node:path';
import { parseBody } from '../body/parse-body';
import { loadFile } from '../mappings/load-file';
import { assembleMappings, loadMappings } from '../mappings/load-mappings';
import { mappingProblems } from '../mappings/mapping-problems';
import type { CompiledSource, LoadProblem, MappingSet } from '../mappings/types';
import { previewAnswer, type AnswerPreview } from '../responses/preview-answer';
import type { CliIo } from './cli-io';
import { explainDelivery, type Explanation } from './explain-delivery';
import { explanationLines } from './explanation-lines';

// What `flowhook test` shares between a payload file and a stored delivery (--delivery): which
// mappings it reads, the source it tries, and the explanation it prints.

export interface TrialOptions {
  header?: string[];
  query?: string[];
  mappings?: string;
  json?: boolean;
}

export interface Trial {
  readonly rawBody: Buffer;
  readonly headers: Record<string, string>;
  readonly query: Record<string, string>;
}

/** The mappings tried: a folder, or one mapping file, with unset ${VAR}s standing as their names. */
export interface TrialMappings {
  readonly set: MappingSet;
  /** What was read, for messages. */
  readonly where: string;
  /** --mappings named one file: its source, whatever its name. */
  readonly single?: string;
}

/**
 * --mappings (a folder, or one mapping file: a draft tried before it is saved), else MAPPINGS_DIR
 * or ./mappings. Unset ${VAR}s stand as their names, so a source can be tried before its secrets
 * exist.
 */
export function loadTrialMappings(option: string | undefined, io: CliIo): TrialMappings {
  const where = path.resolve(io.cwd, option ?? io.env.MAPPINGS_DIR ?? 'mappings');
  if (option !== undefined && fs.statSync(where, { throwIfNoEntry: false })?.isFile()) {
    const dir = path.dirname(where);
    const outcome = loadFile(dir, path.basename(where), io.env, { placeholders: true });
    const single = outcome.kind === 'ready' ? outcome.source.name : outcome.name;
    return { set: assembleMappings(dir, [outcome]), where, single };
  }
  return { set: loadMappings(where, io.env, { placeholders: true }), where };
}

/** The source to try; or, when it cannot be tried, every problem of its file and exit code 2. */
export function sourceToTry(
  loaded: TrialMappings,
  name: string,
  io: CliIo,
): CompiledSource | number {
  const { set, where } = loaded;
  const source = set.sources.get(name);
  if (source !== undefined) return source;
  const disabled = set.disabled.get(name);
  if (disabled === undefined) {
    io.err(`flowhook test: source "${name}": no mapping file in ${where} defines it\n`);
    return 2;
  }
  // Every problem of its file, as flowhook validate and the server list them.
  const problems = mappingProblems(set, disabled.files);
  io.err(
    problems.length === 0 || disabled.cause !== 'invalid'
      ? `flowhook test: source "${name}": ${disabled.reason}\n`
      : `flowhook test: source "${name}" cannot be tried: its mapping file has ${problems.length} problem(s)\n`,
  );
  for (const problem of problems) io.err(`  ${problem.file}: ${problem.message}\n`);
  return 2;
}

/** -H and -q into headers (lower-case names) and query, over `base`; a usage problem as text. */
export function withOptions(
  base: Pick<Trial, 'headers' | 'query'>,
  options: TrialOptions,
): Pick<Trial, 'headers' | 'query'> | string {
  const headers: Record<string, string> = Object.assign(Object.create(null), base.headers);
  for (const item of options.header ?? []) {
    const colon = item.indexOf(':');
    if (colon <= 0) return `-H "${item}" is not "Name: value"`;
    headers[item.slice(0, colon).trim().toLowerCase()] = item.slice(colon + 1).trim();
  }
  const query: Record<string, string> = Object.assign(Object.create(null), base.query);
  for (const item of options.query ?? []) {
    const eq = item.indexOf('=');
    query[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
  }
  return { headers, query };
}

/** What is said before the explanation: where the request came from, and about its signature. */
export interface TrialIntro {
  /** Lines before the source line (a stored delivery: which one). */
  readonly lines: readonly string[];
  /** After "source x (file), dispatch: first; ". */
  readonly signature: string;
  /** Added to --json's answer. */
  readonly json: Record<string, unknown>;
}

/**
 * Route by route and condition by condition, then the variables, the execute requests and the
 * mapping's own answer; or the same as JSON. Exit 0 when a route matched and its variables were
 * complete, 1 otherwise.
 */
export function explainTrial(
  set: MappingSet,
  source: CompiledSource,
  trial: Trial,
  intro: TrialIntro,
  options: TrialOptions,
  io: CliIo,
): number {
  const orgId = io.env.FLOW_ORG_ID || 'FLOW_ORG_ID';
  const explanation = explainDelivery(source, trial, orgId);
  let body: unknown;
  try {
    body = parseBody(trial.rawBody, trial.headers['content-type'], source.jsonFields);
  } catch {
    body = undefined; // explained as the refusal already
  }
  const preview = previewAnswer(source, explanation, '<deliveryId>', body);
  const named = [...(set.unset?.get(source.name) ?? [])];
  if (!io.env.FLOW_ORG_ID) named.push('FLOW_ORG_ID');
  named.sort();
  const problems = mappingProblems(set, [source.file]);
  const ok = explanation.matched.length > 0 && explanation.error === undefined;
  if (options.json) {
    const answer = preview.answer ? { outcome: preview.outcome, ...preview.answer } : undefined;
    const json = { ...intro.json, ...explanation, ok, unset: named, problems, answer };
    io.out(`${JSON.stringify(json, null, 2)}\n`);
  } else io.out(render(explanation, intro, named, problems, preview));
  return ok ? 0 : 1;
}

function render(
  e: Explanation,
  intro: TrialIntro,
  unset: string[],
  problems: readonly LoadProblem[],
  preview: AnswerPreview,
): string {
  const lines = [
    ...intro.lines,
    `source ${e.source} (${e.file}), dispatch: ${e.dispatch}; ${intro.signature}`,
  ];
  if (unset.length > 0) lines.push(`unset variables, shown by name: ${unset.join(', ')}`);
  // Where the file uses each one, with a "did you mean" (the list flowhook validate prints).
  for (const problem of problems) lines.push(`  ${problem.file}: ${problem.message}`);
  lines.push(...explanationLines(e));
  if (preview.answer) {
    // The mapping's own answer (respond:), exactly as the sender would get it.
    const { status, contentType, headers, body } = preview.answer;
    lines.push('', `answer to the sender (respond: ${preview.outcome}): ${status}`);
    lines.push(`  Content-Type: ${contentType}`);
    for (const [name, value] of Object.entries(headers)) lines.push(`  ${name}: ${value}`);
    lines.push(...body.split('\n').map((line) => `  ${line}`));
  }
  return `${lines.join('\n')}\n`;
}
