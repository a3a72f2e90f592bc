import { hmacPreset } from '../hmac-preset';

/**
 * Intercom: `X-Hub-Signature: sha1=<hex HMAC-SHA1>` of the raw body, keyed with the app's
 * client_secret (the shape of GitHub's legacy header). No timestamp; the delivery id is the
 * notification's `id` in the body, and the `ping` sent on set-up is answered in after-verify.ts.
 * https://developers.intercom.com/building-apps/docs/webhook-model#section-signed-notifications
 */
export const intercom = hmacPreset('intercom', {
  header: 'X-Hub-Signature',
  prefix: 'sha1=',
  algorithm: 'sha1',
});
