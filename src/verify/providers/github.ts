import { hmacPreset } from '../hmac-preset';
import { prefixedSignature } from '../prefixed-signature';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<lowercase hex>` of the raw body, secret as UTF-8; no
 * timestamp, so no replay window (dedupe on X-GitHub-Delivery downstream).
 * https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
 * The legacy SHA-1 `X-Hub-Signature` is accepted only with `legacy: true`, and only when the
 * SHA-256 header is absent (GitHub sends both; some GitHub Enterprise Server versions and
 * GitHub-compatible senders only the SHA-1 one). Otherwise falling back would let a downgrade through.
 * https://docs.github.com/webhooks/webhook-events-and-payloads#delivery-headers
 */
export const github = hmacPreset(
  'github',
  { header: 'X-Hub-Signature-256', prefix: 'sha256=', idHeader: 'X-GitHub-Delivery' },
  (scheme, spec) =>
    spec.legacy !== true
      ? scheme
      : {
          ...scheme,
          headerSets: [
            ...scheme.headerSets,
            {
              signature: 'X-Hub-Signature',
              id: ['X-GitHub-Delivery'],
              algorithm: 'sha1',
              parse: prefixedSignature('sha1='),
            },
          ],
        },
);
