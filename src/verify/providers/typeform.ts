import { hmacPreset } from '../hmac-preset';

/**
 * Typeform: `Typeform-Signature: sha256=<base64>` of the raw body. It looks like GitHub's header,
 * but the digest is base64, not hex (reference pitfall 2). No timestamp; the delivery id is the
 * body's `event_id` (after-verify.ts).
 * https://www.typeform.com/developers/webhooks/secure-your-webhooks/
 */
export const typeform = hmacPreset('typeform', {
  header: 'Typeform-Signature',
  prefix: 'sha256=',
  encoding: 'base64',
});
