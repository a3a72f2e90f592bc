import { DEFAULT_TOLERANCE, resolveTolerance } from './check-timestamp';
import type { ParsedSignatures } from './hmac-scheme';
import { hmacVerifier } from './hmac-verifier';
import { signedContent } from './signed-content';
import type { Verifier, VerifySpec } from './types';

/**
 * `t=<unix>,v1=<hex>[,v1=…][,v0=…]`. Every v1 is a candidate (several during a secret roll); other
 * schemes are ignored "to prevent downgrade attacks" (https://docs.stripe.com/webhooks#verify-manually).
 */
function parse(value: string, header: string): ParsedSignatures {
  const malformed = { ok: false, reason: `malformed ${header} header` } as const;
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) return malformed;
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined) return malformed;
      timestamp = val;
    } else if (key === 'v1') signatures.push(val);
  }
  if (timestamp === undefined) return { ok: false, reason: `no timestamp in ${header} header` };
  if (signatures.length === 0) return { ok: false, reason: `no v1 signature in ${header} header` };
  return { ok: true, signatures, timestamp };
}

/**
 * Stripe: hex HMAC-SHA256 of "<t>.<raw body>", keyed with the whole `whsec_…` string as UTF-8
 * (not base64-decoded, unlike Standard Webhooks). Default tolerance 300 s in both directions, as
 * stripe-dotnet (stripe-node only rejects old ones); 0 turns the check off, as in the SDKs.
 * https://github.com/stripe/stripe-node/blob/663942164d3876f04bb26617b88f498ba785e580/src/Webhooks.ts
 */
export function stripe(spec: VerifySpec): Verifier {
  return hmacVerifier(
    {
      headerSets: [{ signature: 'Stripe-Signature' }],
      parse,
      algorithm: 'sha256',
      encoding: 'hex',
      content: signedContent('{timestamp}.{body}'),
      secretFormat: 'utf8',
      tolerance: resolveTolerance(spec.tolerance, DEFAULT_TOLERANCE),
    },
    spec.secrets,
  );
}
