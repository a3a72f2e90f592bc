import { DEFAULT_TOLERANCE, resolveTolerance } from './check-timestamp';
import type { ParsedSignatures } from './hmac-scheme';
import { hmacVerifier } from './hmac-verifier';
import { signedContent } from './signed-content';
import type { Verifier, VerifySpec } from './types';

/**
 * "v1,<b64> v1,<b64> v1a,<b64>": space-delimited; during a key rotation both signatures are sent.
 * Entries other than v1 (v1a is ed25519) are skipped, as the reference libraries do.
 */
function parse(value: string, header: string): ParsedSignatures {
  const signatures = value
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice('v1,'.length));
  if (signatures.length === 0) return { ok: false, reason: `no v1 signature in ${header} header` };
  return { ok: true, signatures };
}

/**
 * Standard Webhooks 1.0 (also Svix, and GitLab 19 signing tokens): base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<raw body>", key = base64-decode(secret after `whsec_`), ±300 s.
 * Unbranded `webhook-*` headers first, then Svix's `svix-*` set.
 * https://github.com/standard-webhooks/standard-webhooks/blob/b2fa7b8719fb75d326b591077f5d1b385cfcdfae/spec/standard-webhooks.md
 */
export function standardWebhooks(spec: VerifySpec): Verifier {
  return hmacVerifier(
    {
      headerSets: ['webhook', 'svix'].map((brand) => ({
        signature: `${brand}-signature`,
        timestamp: `${brand}-timestamp`,
        id: [`${brand}-id`],
      })),
      parse,
      algorithm: 'sha256',
      encoding: 'base64',
      content: signedContent('{id}.{timestamp}.{body}'),
      secretFormat: 'whsec',
      tolerance: resolveTolerance(spec.tolerance, DEFAULT_TOLERANCE),
    },
    spec.secrets,
  );
}
