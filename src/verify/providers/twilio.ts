import { createHash } from 'node:crypto';
import { hmacPreset } from '../hmac-preset';
import { safeEqual } from '../hmac-signature';
import { portVariants } from './port-variants';
import { queryOf } from '../public-url';
import { hasBodyHash, twilioContent } from './twilio-content';
import type { VerifyRequest } from '../types';

/** The JSON variant: the URL's bodySHA256 must be the hex SHA-256 of the raw body. */
function checkBodyHash(req: VerifyRequest): string | null {
  if (!hasBodyHash(req.url)) return null;
  const claimed = new URLSearchParams(queryOf(req.url).slice(1)).get('bodySHA256') ?? '';
  const actual = createHash('sha256').update(req.rawBody).digest('hex');
  return safeEqual(claimed, actual) ? null : 'body does not match the bodySHA256 query parameter';
}

/**
 * Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1>` keyed with the Auth Token, over the full URL
 * Twilio called plus the sorted form parameters (or, for JSON bodies, the URL with its
 * `bodySHA256`). The URL is tried as received (or `publicUrl` + received query), with the default
 * port, and without a port. No timestamp; the delivery id is `I-Twilio-Idempotency-Token`.
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security
 */
export const twilio = hmacPreset(
  'twilio',
  {
    header: 'X-Twilio-Signature',
    algorithm: 'sha1',
    encoding: 'base64',
    signedContent: '{url}{body}',
    idHeader: 'I-Twilio-Idempotency-Token',
  },
  (scheme) => ({
    ...scheme,
    content: twilioContent,
    urls: (received) => scheme.urls(received).flatMap(portVariants),
    check: checkBodyHash,
  }),
);
