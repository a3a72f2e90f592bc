import { readHeader } from '../read-header';
import { tokenEqual } from '../hmac-signature';
import { VerifySpecError, type Verifier, type VerifySpec } from '../types';

const BEARER = /^Bearer +/i;

/** The header the token is read from when the mapping names neither `header` nor `query`. */
export const TOKEN_HEADER = 'X-Webhook-Token';

/**
 * A plain shared token (GitLab's X-Gitlab-Token and most "secret header" setups): nothing is
 * signed, so this only proves the sender knows the token, and gives no replay protection.
 * With `query` set the token is read from that query parameter instead of a header.
 * https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token
 */
export function token(spec: VerifySpec): Verifier {
  const header = spec.header ?? TOKEN_HEADER;
  const bearer = header.toLowerCase() === 'authorization';
  if (header === '' || spec.query === '') throw new VerifySpecError('token: empty header or query');
  if (spec.secrets.length === 0 || spec.secrets.some((s) => typeof s !== 'string' || s === '')) {
    throw new VerifySpecError('token: at least one non-empty secret is required');
  }
  const where = spec.query !== undefined ? `${spec.query} query parameter` : `${header} header`;

  return (req) => {
    const raw = spec.query !== undefined ? req.query[spec.query] : readHeader(req.headers, header);
    if (typeof raw !== 'string' || raw === '') return { ok: false, reason: `missing ${where}` };
    const received = bearer ? raw.replace(BEARER, '') : raw;
    // Every secret is compared, so the time taken does not say which one matched.
    const matches = spec.secrets.map((secret) => tokenEqual(received, secret));
    const secretIndex = matches.indexOf(true);
    if (secretIndex < 0) return { ok: false, reason: 'token does not match' };
    return { ok: true, secretIndex };
  };
}
