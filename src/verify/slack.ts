import { DEFAULT_TOLERANCE, resolveTolerance } from './check-timestamp';
import type { ParsedSignatures } from './hmac-scheme';
import { hmacVerifier } from './hmac-verifier';
import { signedContent } from './signed-content';
import type { Verifier, VerifySpec } from './types';

/** Only `v0` exists; bolt-js rejects any other version rather than guessing its format. */
function parse(value: string, header: string): ParsedSignatures {
  const match = /^([a-z0-9]+)=(.+)$/.exec(value);
  if (match === null) return { ok: false, reason: `malformed ${header} header` };
  if (match[1] !== 'v0') return { ok: false, reason: `unsupported ${header} version` };
  return { ok: true, signatures: [match[2] ?? ''] };
}

/**
 * Slack: `X-Slack-Signature: v0=<hex>` of "v0:<timestamp>:<raw body>" (slash commands sign the
 * form-encoded body as received). ±300 s like python-slack-sdk; bolt-js only rejects stale ones.
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */
export function slack(spec: VerifySpec): Verifier {
  return hmacVerifier(
    {
      headerSets: [{ signature: 'X-Slack-Signature', timestamp: 'X-Slack-Request-Timestamp' }],
      parse,
      algorithm: 'sha256',
      encoding: 'hex',
      content: signedContent('v0:{timestamp}:{body}'),
      secretFormat: 'utf8',
      tolerance: resolveTolerance(spec.tolerance, DEFAULT_TOLERANCE),
    },
    spec.secrets,
  );
}
