import fs from 'node:fs';
import path from 'node:path';
import { parseBody } from '../body/parse-body';
import { loadMappings } from '../mappings/load-mappings';
import { mappingProblems } from '../mappings/mapping-problems';
import type { LoadProblem } from '../mappings/types';
import { previewAnswer, type AnswerPreview } from '../responses/preview-answer';
import type { CliIo } from './cli-io';
import { explanationLines } from './explanation-lines';
import { explainDelivery, type Explanation } from './explain-delivery';

export interface TestOptions {
  header?: string[];
  query?: string[];
  mappings?: string;
  json?: boolean;
}

/**
 * `flowhook test <source> <payload-file>`: no signature needed. Prints, route by route and
 * condition by condition, what was found and whether it held, then the variables and the exact
 * execute request. Unset ${VAR}s stand as their names. Exit 0 when a route matched and its
 * variables were complete, 1 otherwise, 2 for a usage problem.
 */
export function testCommand(
  sourceName: string,
  payloadFile: string,
  options: TestOptions,
  io: CliIo,
): number {
  const dir = path.resolve(io.cwd, options.mappings ?? io.env.MAPPINGS_DIR ?? 'mappings');
  // Unset ${VAR}s stand as their names, so a source can be tried before its secrets exist.
  const set = loadMappings(dir, io.env, { placeholders: true });
  const source = set.sources.get(sourceName);
  if (source === undefined) {
    const disabled = set.disabled.get(sourceName);
    if (disabled === undefined) {
      io.err(`flowhook test: source "${sourceName}": no mapping file in ${dir} defines it\n`);
      return 2;
    }
    // Every problem of its file, as flowhook validate and the server list them.
    const problems = mappingProblems(set, disabled.files);
    io.err(
      problems.length === 0 || disabled.cause !== 'invalid'
        ? `flowhook test: source "${sourceName}": ${disabled.reason}\n`
        : `flowhook test: source "${sourceName}" cannot be tried: its mapping file has ${problems.length} problem(s)\n`,
    );
    for (const problem of problems) io.err(`  ${problem.file}: ${problem.message}\n`);
    return 2;
  }
  let rawBody: Buffer;
  try {
    rawBody = fs.readFileSync(path.resolve(io.cwd, payloadFile));
  } catch (error) {
    io.err(
      `flowhook test: cannot read ${payloadFile} (${(error as NodeJS.ErrnoException).code})\n`,
    );
    return 2;
  }
  const headers: Record<string, string> = Object.create(null);
  for (const item of options.header ?? []) {
    const colon = item.indexOf(':');
    if (colon <= 0) {
      io.err(`flowhook test: -H "${item}" is not "Name: value"\n`);
      return 2;
    }
    headers[item.slice(0, colon).trim().toLowerCase()] = item.slice(colon + 1).trim();
  }
  headers['content-type'] ??= guessContentType(rawBody);
  const query: Record<string, string> = Object.create(null);
  for (const item of options.query ?? []) {
    const eq = item.indexOf('=');
    query[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
  }
  const orgId = io.env.FLOW_ORG_ID || 'FLOW_ORG_ID';
  const explanation = explainDelivery(source, { rawBody, headers, query }, orgId);
  let body: unknown;
  try {
    body = parseBody(rawBody, headers['content-type'], source.jsonFields);
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
    io.out(`${JSON.stringify({ ...explanation, ok, unset: named, problems, answer }, null, 2)}\n`);
  } else io.out(render(explanation, named, problems, preview));
  return ok ? 0 : 1;
}

function guessContentType(body: Buffer): string {
  try {
    JSON.parse(body.toString('utf8'));
    return 'application/json';
  } catch {
    return 'application/x-www-form-urlencoded';
  }
}

function render(
  e: Explanation,
  unset: string[],
  problems: readonly LoadProblem[],
  preview: AnswerPreview,
): string {
  const lines = [
    `source ${e.source} (${e.file}), dispatch: ${e.dispatch}; the signature is not checked`,
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
