import { hmacPreset } from '../hmac-preset';

/**
 * Slack: `X-Slack-Signature: v0=<hex>` of "v0:<timestamp>:<raw body>" (slash commands sign the
 * form-encoded body as received), `X-Slack-Request-Timestamp` in seconds. ±300 s like
 * python-slack-sdk; bolt-js only rejects stale ones. Only `v0` exists, so any other version is
 * refused rather than guessed at. url_verification and ssl_check are answered in after-verify.ts.
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */
export const slack = hmacPreset('slack', {
  header: 'X-Slack-Signature',
  prefix: 'v0=',
  signedContent: 'v0:{timestamp}:{body}',
  timestampHeader: 'X-Slack-Request-Timestamp',
  tolerance: 300,
});
