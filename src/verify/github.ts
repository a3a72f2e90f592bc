import { hmacVerifier } from './hmac-verifier';
import { prefixedSignature } from './prefixed-signature';
import { signedContent } from './signed-content';
import type { Verifier, VerifySpec } from './types';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<lowercase hex>` of the raw body, secret as UTF-8; no
 * timestamp, so no replay window (dedupe on X-GitHub-Delivery downstream).
 * https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
 * The legacy SHA-1 `X-Hub-Signature` is deliberately not accepted: GitHub always sends the
 * SHA-256 header, and falling back would let a downgrade through.
 */
export function github(spec: VerifySpec): Verifier {
  return hmacVerifier(
    {
      headerSets: [{ signature: 'X-Hub-Signature-256', id: ['X-GitHub-Delivery'] }],
      parse: prefixedSignature('sha256='),
      algorithm: 'sha256',
      encoding: 'hex',
      content: signedContent('{body}'),
      secretFormat: 'utf8',
      tolerance: 0,
    },
    spec.secrets,
  );
}
