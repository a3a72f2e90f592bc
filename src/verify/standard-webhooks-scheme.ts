import { DEFAULT_TOLERANCE, resolveTolerance } from './check-timestamp';
import type { HmacScheme } from './hmac-scheme';
import { listSignatures } from './list-signatures';
import { signedContent } from './signed-content';

/** "v1,<b64> v1,<b64>": space-separated entries, each signature behind "v1,". */
const LAYOUT = { separator: ' ', prefix: 'v1,' } as const;

/**
 * Standard Webhooks 1.0 (also Svix, and GitLab 19 signing tokens): base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<raw body>", key = base64-decode(secret after `whsec_`), ±300 s as the
 * reference libraries. "v1,<b64> v1,<b64> v1a,<b64>" is space-delimited: during a key rotation
 * both signatures are sent; entries other than v1 (v1a is ed25519) are skipped.
 * `brands` are the header prefixes to look for, in order ("webhook", "svix").
 * https://github.com/standard-webhooks/standard-webhooks/blob/b2fa7b8719fb75d326b591077f5d1b385cfcdfae/spec/standard-webhooks.md
 */
export function standardWebhooksScheme(
  brands: readonly string[],
  tolerance: number | undefined,
): HmacScheme {
  return {
    headerSets: brands.map((brand) => ({
      signature: `${brand}-signature`,
      timestamp: `${brand}-timestamp`,
      id: [`${brand}-id`],
    })),
    parse: listSignatures(LAYOUT.separator, LAYOUT.prefix),
    layout: LAYOUT,
    algorithm: 'sha256',
    encoding: 'base64',
    content: signedContent('{id}.{timestamp}.{body}'),
    secretFormat: 'whsec',
    tolerance: resolveTolerance(tolerance, DEFAULT_TOLERANCE),
    timestampUnit: 's',
    urls: (url) => [url],
  };
}
