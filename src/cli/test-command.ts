import fs from 'node:fs';
import path from 'node:path';
import type { CliIo } from './cli-io';
import {
  explainTrial,
  loadTrialMappings,
  sourceToTry,
  withOptions,
  type TrialOptions,
} from './try-request';

export type TestOptions = TrialOptions;

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
  const loaded = loadTrialMappings(options.mappings, io);
  const source = sourceToTry(loaded, sourceName, io);
  if (typeof source === 'number') return source;
  let rawBody: Buffer;
  try {
    rawBody = fs.readFileSync(path.resolve(io.cwd, payloadFile));
  } catch (error) {
    io.err(
      `flowhook test: cannot read ${payloadFile} (${(error as NodeJS.ErrnoException).code})\n`,
    );
    return 2;
  }
  const request = withOptions({ headers: {}, query: {} }, options);
  if (typeof request === 'string') {
    io.err(`flowhook test: ${request}\n`);
    return 2;
  }
  request.headers['content-type'] ??= guessContentType(rawBody);
  const intro = { lines: [], signature: 'the signature is not checked', json: {} };
  return explainTrial(loaded.set, source, { rawBody, ...request }, intro, options, io);
}

function guessContentType(body: Buffer): string {
  try {
    JSON.parse(body.toString('utf8'));
    return 'application/json';
  } catch {
    return 'application/x-www-form-urlencoded';
  }
}
