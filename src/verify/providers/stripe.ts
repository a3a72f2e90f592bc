import { hmacPreset } from '../hmac-preset';

/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…][,v0=…]`, hex HMAC-SHA256 of "<t>.<raw body>",
 * keyed with the whole `whsec_…` string as UTF-8 (not base64-decoded, unlike Standard Webhooks).
 * Every v1 is a candidate (several during a secret roll); other schemes are ignored "to prevent
 * downgrade attacks" (https://docs.stripe.com/webhooks#verify-manually). 300 s in both
 * directions, as stripe-dotnet (stripe-node only rejects old ones); 0 turns the check off.
 * https://github.com/stripe/stripe-node/blob/663942164d3876f04bb26617b88f498ba785e580/src/Webhooks.ts
 * The delivery id is the event id in the body (after-verify.ts).
 */
export const stripe = hmacPreset('stripe', {
  header: 'Stripe-Signature',
  separator: ',',
  timestampPrefix: 't=',
  prefix: 'v1=',
  signedContent: '{timestamp}.{body}',
  tolerance: 300,
});
