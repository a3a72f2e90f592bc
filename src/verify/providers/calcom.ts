import { hmacPreset } from '../hmac-preset';
import { prefixedSignature } from '../prefixed-signature';

const unsigned = prefixedSignature('');

/**
 * Cal.com: `X-Cal-Signature-256: <hex HMAC-SHA256>` of the raw body. With no secret set on the
 * webhook, Cal.com sends the literal "no-secret-provided"; say so instead of "does not match".
 * The "Ping test" button sends a signed `triggerEvent: "PING"`, answered in after-verify.ts.
 * https://github.com/calcom/cal.com (packages/features/webhooks/lib/sendPayload.ts)
 */
export const calcom = hmacPreset('calcom', { header: 'X-Cal-Signature-256' }, (scheme) => ({
  ...scheme,
  parse: (value, header) =>
    value === 'no-secret-provided'
      ? { ok: false, reason: `${header} holds no signature: the Cal.com webhook has no secret set` }
      : unsigned(value, header),
}));
