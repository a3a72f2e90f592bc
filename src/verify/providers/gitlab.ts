import type { HmacScheme } from '../hmac-scheme';
import { tokenEqual } from '../hmac-signature';
import { hmacVerifier } from '../hmac-verifier';
import { readHeader } from '../read-header';
import { standardWebhooksScheme } from '../standard-webhooks-scheme';
import { VerifySpecError, type Verifier, type VerifyResult, type VerifySpec } from '../types';

const SIGNING_TOKEN = /^whsec_/;

/** A `whsec_…` secret is a signing token (GitLab 19); any other is a secret token. */
export const isSigningToken = (secret: string): boolean => SIGNING_TOKEN.test(secret);

/** What GitLab signs with a signing token: Standard Webhooks under the unbranded `webhook-*` headers. */
export const gitlabSigningScheme = (spec: VerifySpec): HmacScheme =>
  standardWebhooksScheme(['webhook'], spec.tolerance);

/**
 * GitLab. A secret of the form `whsec_…` is a signing token (GitLab 19): requests then carry
 * Standard Webhooks headers and must be signed, so stripping the signature and keeping a captured
 * X-Gitlab-Token is no way around it. Any other secret is a secret token, compared in constant
 * time with `X-Gitlab-Token` (nothing is signed, no replay window). When both kinds are
 * configured, both are checked. Delivery id: `webhook-id` (= `Idempotency-Key`), else
 * `Idempotency-Key`, else `X-Gitlab-Event-UUID`.
 * https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token
 * https://docs.gitlab.com/user/project/integrations/webhooks/#signing-tokens
 */
export function gitlab(spec: VerifySpec): Verifier {
  const signingAt = spec.secrets.flatMap((s, i) => (isSigningToken(s) ? [i] : []));
  const tokenAt = spec.secrets.flatMap((s, i) => (isSigningToken(s) ? [] : [i]));
  if (signingAt.length === 0 && spec.tolerance !== undefined) {
    throw new VerifySpecError('gitlab: tolerance only applies with a signing token (whsec_…)');
  }
  if (tokenAt.some((i) => spec.secrets[i] === ''))
    throw new VerifySpecError('gitlab: empty secret');
  const signed =
    signingAt.length === 0
      ? undefined
      : hmacVerifier(
          gitlabSigningScheme(spec),
          signingAt.map((i) => spec.secrets[i] ?? ''),
        );

  return (req): VerifyResult => {
    let secretIndex: number | null = null;
    let deliveryId: string | undefined;
    if (signed !== undefined) {
      const result = signed(req);
      if (!result.ok) return result;
      secretIndex = signingAt[result.secretIndex ?? 0] ?? null;
      deliveryId = result.deliveryId;
    }
    if (tokenAt.length > 0) {
      const token = readHeader(req.headers, 'X-Gitlab-Token');
      if (token === undefined || token === '')
        return { ok: false, reason: 'missing X-Gitlab-Token header' };
      // Every token is compared, so the time taken does not say which one matched.
      const matches = tokenAt.map((i) => tokenEqual(token, spec.secrets[i] ?? ''));
      if (!matches.includes(true)) return { ok: false, reason: 'X-Gitlab-Token does not match' };
      secretIndex ??= tokenAt[matches.indexOf(true)] ?? null;
    }
    deliveryId ??=
      readHeader(req.headers, 'Idempotency-Key') ?? readHeader(req.headers, 'X-Gitlab-Event-UUID');
    return deliveryId === undefined
      ? { ok: true, secretIndex }
      : { ok: true, secretIndex, deliveryId };
  };
}
