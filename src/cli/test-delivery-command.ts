import type { CompiledSource, MappingSet } from '../mappings/types';
import { REDACTED } from '../redact/create-secret-redactor';
import type { CliIo } from './cli-io';
import { callAdminApi } from './deliveries-command';
import {
  explainTrial,
  loadTrialMappings,
  sourceToTry,
  withOptions,
  type Trial,
  type TrialOptions,
} from './try-request';

export interface TestDeliveryOptions extends TrialOptions {
  url?: string;
}

/** What GET /api/deliveries/:id answers, as far as this command reads it. */
interface StoredDelivery {
  id: string;
  source: string;
  receivedAt: string;
  mappingVersion: string;
  request: {
    method: string;
    url: string;
    headers: Record<string, string>;
    bodyBase64: string;
    bodyBytes: number;
    bodyTruncated: boolean;
  };
  explanation: { verification: { provider: string; secretIndex: number | null } } | null;
}

/**
 * `flowhook test --delivery <id>`: the request a running flowhook stored for a delivery (its exact
 * body bytes, headers and query, fetched with ADMIN_TOKEN from GET /api/deliveries/:id) through
 * the mappings here (--mappings: a folder or one file; `source` another source than the
 * delivery's), explained as `flowhook test` explains a payload file. The author debugs on the
 * payload that arrived, not a copy. The signature was verified when the request was received; it
 * is checked again when the secret is set here and the stored request still carries it.
 */
export async function testDeliveryCommand(
  id: string,
  sourceName: string | undefined,
  options: TestDeliveryOptions,
  io: CliIo,
): Promise<number> {
  const answer = await callAdminApi(
    'test',
    'GET',
    `/api/deliveries/${encodeURIComponent(id)}`,
    options.url,
    io,
  );
  if (typeof answer === 'number') return answer;
  const delivery = answer.body as StoredDelivery;
  const { request } = delivery;
  if (request.bodyTruncated) {
    io.err(
      `flowhook test: delivery ${delivery.id} cannot be tried: its body was stored truncated (${request.bodyBytes} bytes received, only the start kept)\n`,
    );
    return 1;
  }
  const loaded = loadTrialMappings(options.mappings, io);
  const source = sourceToTry(loaded, sourceName ?? loaded.single ?? delivery.source, io);
  if (typeof source === 'number') return source;
  const stored = withOptions({ headers: request.headers, query: queryOf(request.url) }, options);
  if (typeof stored === 'string') {
    io.err(`flowhook test: ${stored}\n`);
    return 2;
  }
  const trial: Trial = { rawBody: Buffer.from(request.bodyBase64, 'base64'), ...stored };
  const signature = checkAgain(delivery, source, trial, loaded.set);
  const other = source.name === delivery.source ? '' : `; tried on source "${source.name}"`;
  const intro = {
    lines: [
      `delivery ${delivery.id}: ${request.method} ${request.url}, received ${delivery.receivedAt} by source "${delivery.source}" (mapping version ${delivery.mappingVersion})${other}`,
      `tried with ${loaded.where}${loaded.single ? '' : `/${source.file}`} version ${source.version}`,
    ],
    signature: signature.text,
    json: {
      delivery: {
        id: delivery.id,
        source: delivery.source,
        receivedAt: delivery.receivedAt,
        mappingVersion: delivery.mappingVersion,
      },
      signature: { checked: signature.checked, says: signature.text },
    },
  };
  return explainTrial(loaded.set, source, trial, intro, options, io);
}

/** The stored URL's query, first value of each name (as the hook route reads it). */
function queryOf(url: string): Record<string, string> {
  const query: Record<string, string> = Object.create(null);
  const at = url.indexOf('?');
  if (at < 0) return query;
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) query[name] ??= value;
  return query;
}

/**
 * The signature line: verified when received (by which preset and secret, from the stored
 * explanation), then checked again with the secret set here at the time it was received, or why
 * not. Stored requests keep no credentials (their signature headers are redacted), so for most
 * presets the answer is "not checked again", said plainly.
 */
function checkAgain(
  delivery: StoredDelivery,
  source: CompiledSource,
  trial: Trial,
  set: MappingSet,
): { checked: 'valid' | 'invalid' | 'skipped'; text: string } {
  const verified = delivery.explanation?.verification;
  const secretNo =
    verified?.secretIndex === null || verified === undefined
      ? ''
      : `, secret #${verified.secretIndex + 1}`;
  const when = verified
    ? `verified by ${verified.provider}${secretNo} when received`
    : 'verified when received';
  const skipped = (why: string) => ({ checked: 'skipped' as const, text: `${when}; ${why}` });
  if (source.provider === 'none') return skipped('verify.provider: none here: nothing to check');
  const unsetSecrets = set.unsetVariables
    .filter((p) => p.file === source.file && p.path?.startsWith('verify'))
    .map((p) => p.variable);
  if (unsetSecrets.length > 0) {
    return skipped(`not checked again here: ${unsetSecrets.join(', ')} is not set`);
  }
  const { request } = delivery;
  const verdict = source.verify({
    rawBody: trial.rawBody,
    headers: trial.headers,
    method: request.method,
    url: `http://${trial.headers.host ?? 'localhost'}${request.url}`,
    query: trial.query,
    // Signed timestamps are checked against the time it arrived, not now.
    now: Date.parse(delivery.receivedAt),
  });
  if (verdict.ok) {
    const which = verdict.secretIndex === null ? '' : ` (secret #${verdict.secretIndex + 1})`;
    return { checked: 'valid', text: `${when}; checked again here: valid${which}` };
  }
  const redacted =
    Object.values(trial.headers).includes(REDACTED) || request.url.includes('%5Bredacted%5D');
  if (redacted) {
    return skipped(
      'not checked again here: the stored request keeps no credentials (its signature was redacted when stored)',
    );
  }
  return {
    checked: 'invalid',
    text: `${when}; checked again here: does NOT verify with the secret set here (${verdict.reason}); is it the one the running flowhook has?`,
  };
}
