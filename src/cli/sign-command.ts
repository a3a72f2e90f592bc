import fs from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { loadMappings } from '../mappings/load-mappings';
import { substituteEnv } from '../mappings/substitute-env';
import type { CompiledSource } from '../mappings/types';
import { SignError, signRequest } from '../verify/sign-request';
import { VerifySpecError } from '../verify/types';
import type { CliIo } from './cli-io';

export interface SignOptions {
  header?: string[];
  query?: string[];
  mappings?: string;
  url?: string;
  json?: boolean;
}

/** A request signed as the source's sender would sign it, ready to print or send. */
export interface SignedDelivery {
  readonly source: string;
  readonly provider: string;
  /** Where it goes: `<url>/hooks/<source>`, with -q parameters and whatever the scheme adds. */
  readonly url: string;
  /** Every header to send, in order: Content-Type, the -H ones, then the signature's. */
  readonly headers: readonly (readonly [string, string])[];
  /** The names of the headers the signature added. */
  readonly signed: readonly string[];
  readonly rawBody: Buffer;
}

/**
 * `flowhook sign <source> <payload-file>`: the headers the source's sender would send for this
 * payload, signed with the source's (newest) secret from the environment at the current time,
 * as `-H` lines and a curl command. Exit 0 when printed, 1 when the source's scheme cannot be
 * signed for this payload (the reason says what to change), 2 for a usage problem.
 */
export function signCommand(
  sourceName: string,
  payloadFile: string,
  options: SignOptions,
  io: CliIo,
): number {
  const delivery = signDelivery('sign', sourceName, payloadFile, options, io, Date.now());
  if (typeof delivery === 'number') return delivery;
  const curl = curlCommand(delivery, payloadFile);
  if (options.json) {
    const headers = Object.fromEntries(delivery.headers);
    const { source, provider, url, signed } = delivery;
    io.out(
      `${JSON.stringify({ source, provider, method: 'POST', url, headers, signed, payloadFile, curl }, null, 2)}\n`,
    );
    return 0;
  }
  if (delivery.provider === 'none') {
    io.err(`flowhook sign: source "${sourceName}" has verify.provider: none; nothing to sign\n`);
  }
  const lines = delivery.headers.map(([name, value]) => `-H ${quote(`${name}: ${value}`)}`);
  io.out(`${[...lines, '', curl].join('\n')}\n`);
  return 0;
}

/**
 * Loads the source with the real environment, reads the payload and signs it: what `sign` prints
 * and `send` posts. A number is the exit code of a problem already reported on stderr.
 */
export function signDelivery(
  command: 'sign' | 'send',
  sourceName: string,
  payloadFile: string,
  options: Omit<SignOptions, 'json'>,
  io: CliIo,
  now: number,
): SignedDelivery | number {
  const fail = (code: number, message: string): number => {
    io.err(`flowhook ${command}: ${message}\n`);
    return code;
  };
  const dir = path.resolve(io.cwd, options.mappings ?? io.env.MAPPINGS_DIR ?? 'mappings');
  const source = loadSource(dir, sourceName, io.env);
  if (typeof source === 'string') return fail(2, `source "${sourceName}": ${source}`);
  let rawBody: Buffer;
  try {
    rawBody = fs.readFileSync(path.resolve(io.cwd, payloadFile));
  } catch (error) {
    return fail(2, `cannot read ${payloadFile} (${(error as NodeJS.ErrnoException).code})`);
  }
  const given: [string, string][] = [];
  for (const item of options.header ?? []) {
    const colon = item.indexOf(':');
    if (colon <= 0) return fail(2, `-H "${item}" is not "Name: value"`);
    given.push([item.slice(0, colon).trim(), item.slice(colon + 1).trim()]);
  }
  if (!given.some(([name]) => name.toLowerCase() === 'content-type')) {
    given.unshift(['Content-Type', guessContentType(rawBody)]);
  }
  const url = hookUrl(options.url ?? `http://127.0.0.1:${io.env.PORT || 3000}`, sourceName);
  if (url === undefined) return fail(2, `--url "${options.url}" is not an http:// or https:// URL`);
  for (const item of options.query ?? []) {
    const eq = item.indexOf('=');
    url.searchParams.append(eq < 0 ? item : item.slice(0, eq), eq < 0 ? '' : item.slice(eq + 1));
  }
  let signed;
  try {
    signed = signRequest(source.verifySpec, {
      rawBody,
      method: 'POST',
      url: url.href,
      now,
      headers: Object.fromEntries(given),
    });
  } catch (error) {
    if (!(error instanceof SignError || error instanceof VerifySpecError)) throw error;
    return fail(1, `source "${sourceName}": ${error.message}`);
  }
  const names = Object.keys(signed.headers).map((name) => name.toLowerCase());
  const headers = [
    ...given.filter(([name]) => !names.includes(name.toLowerCase())),
    ...Object.entries(signed.headers),
  ];
  return {
    source: source.name,
    provider: source.provider,
    url: signed.url,
    headers,
    signed: Object.keys(signed.headers),
    rawBody,
  };
}

/**
 * The source, loaded with the real environment. Only its verify block has to be complete: an
 * unset flow id is the running server's business, not the signer's, so a source waiting for one
 * is compiled with the unset names standing in (as `flowhook test` does). A reason otherwise.
 */
function loadSource(
  dir: string,
  name: string,
  env: Readonly<Record<string, string | undefined>>,
): CompiledSource | string {
  const set = loadMappings(dir, env);
  const ready = set.sources.get(name);
  if (ready !== undefined) return ready;
  const disabled = set.disabled.get(name);
  if (disabled === undefined) return `no mapping file in ${dir} defines it`;
  if (disabled.cause !== 'missing-env') return disabled.reason;
  const file = disabled.files[0] ?? '';
  const document = load(fs.readFileSync(path.join(dir, file), 'utf8')) as { verify?: unknown };
  const { missing } = substituteEnv(document.verify ?? {}, env);
  if (missing.length > 0) {
    const names = missing.join(', ');
    return `its verify block (${file}) needs ${names}: set ${missing.length > 1 ? 'them' : 'it'} in this environment to the value the sender uses (the running flowhook's)`;
  }
  return loadMappings(dir, env, { placeholders: true }).sources.get(name) ?? disabled.reason;
}

/** `<base>/hooks/<source>`: a base with a path (behind a proxy) keeps it. */
function hookUrl(base: string, source: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/hooks/${encodeURIComponent(source)}`;
  url.hash = '';
  return url;
}

/** As `flowhook test` guesses: JSON when it parses, else a form. */
export function guessContentType(body: Buffer): string {
  try {
    JSON.parse(body.toString('utf8'));
    return 'application/json';
  } catch {
    return 'application/x-www-form-urlencoded';
  }
}

/** A single-quoted shell word. */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

function curlCommand(delivery: SignedDelivery, payloadFile: string): string {
  const headers = delivery.headers.map(([name, value]) => `-H ${quote(`${name}: ${value}`)}`);
  return [
    'curl -sS -X POST',
    quote(delivery.url),
    ...headers,
    '--data-binary',
    quote(`@${payloadFile}`),
  ].join(' ');
}
