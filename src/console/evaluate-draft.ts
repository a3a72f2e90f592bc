import path from 'node:path';
import { explainDelivery, type Explanation } from '../cli/explain-delivery';
import type { DeliveryRecord } from '../deliveries/types';
import { loadText } from '../mappings/load-file';
import type { CompiledSource, LoadProblem } from '../mappings/types';

type Env = Readonly<Record<string, string | undefined>>;

/** The request a draft is tried on: a stored delivery's, or one pasted in the playground. */
export interface TrialRequest {
  readonly body: Buffer;
  readonly headers: Record<string, string>;
  readonly query: Record<string, string | undefined>;
}

export type DraftOutcome =
  | { readonly ok: true; readonly source: CompiledSource; readonly unset: readonly string[] }
  | { readonly ok: false; readonly problems: readonly LoadProblem[] };

/**
 * Compiles a draft of a mapping file as hot reload would, without touching the folder. `${VAR}`s
 * take the server's environment; for a trial (`placeholders`), unset ones stand as their names,
 * as in `flowhook test`. The draft's version is `draft-<hash>`, so a delivery replayed with it
 * shows that a draft, not the file, chose its routes.
 */
export function compileDraft(
  file: string,
  text: string,
  env: Env,
  options: { placeholders: boolean },
): DraftOutcome {
  const outcome = loadText(path.basename(file), text, env, options);
  if (outcome.kind === 'invalid') return { ok: false, problems: outcome.problems };
  if (outcome.kind === 'missing-env') {
    return {
      ok: false,
      problems: [{ file, message: `source "${outcome.name}" ${outcome.reason}` }],
    };
  }
  const source: CompiledSource = {
    ...outcome.source,
    file,
    version: `draft-${outcome.source.version}`,
  };
  return { ok: true, source, unset: outcome.unset ?? [] };
}

/** A stored delivery's request as conditions see it: exact body, stored headers, its query. */
export function trialOfDelivery(record: DeliveryRecord): TrialRequest {
  const { url, headers, bodyBase64 } = record.request;
  const query: Record<string, string | undefined> = Object.create(null);
  const at = url.indexOf('?');
  if (at >= 0) {
    for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
      if (!(name in query)) query[name] = value;
    }
  }
  return { body: Buffer.from(bodyBase64, 'base64'), headers: { ...headers }, query };
}

/** What `source` would do with `trial`: every route and condition, variables, execute requests. */
export function evaluateDraft(
  source: CompiledSource,
  trial: TrialRequest,
  defaultOrgId: string | undefined,
): Explanation {
  return explainDelivery(
    source,
    { rawBody: trial.body, headers: trial.headers, query: trial.query },
    defaultOrgId ?? 'FLOW_ORG_ID',
  );
}
