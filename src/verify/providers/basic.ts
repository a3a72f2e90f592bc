import { tokenEqual } from '../hmac-signature';
import { readHeader } from '../read-header';
import { VerifySpecError, type Verifier, type VerifySpec } from '../types';

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/**
 * HTTP Basic authentication (RFC 7617): `Authorization: Basic base64(username:password)`, for
 * senders that can only be given credentials (Zendesk's and many form tools' "basic auth"
 * option). `username` is fixed; each secret is an accepted password (rotation). Both parts are
 * compared in constant time, every password each time. Nothing is signed: like `token`, it
 * proves knowledge of the password, not that the body is unchanged, and gives no replay window.
 */
export function basic(spec: VerifySpec): Verifier {
  const { username } = spec;
  if (typeof username !== 'string' || username === '' || username.includes(':')) {
    throw new VerifySpecError('basic: option "username" is required and cannot contain ":"');
  }
  if (spec.secrets.some((s) => typeof s !== 'string' || s === '')) {
    throw new VerifySpecError('basic: passwords (secrets) must not be empty');
  }
  return (req) => {
    const header = readHeader(req.headers, 'Authorization');
    if (header === undefined || header === '')
      return { ok: false, reason: 'missing Authorization header' };
    const encoded = BASIC.exec(header)?.[1];
    if (encoded === undefined)
      return { ok: false, reason: 'Authorization header is not Basic credentials' };
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { ok: false, reason: 'malformed Basic credentials (no ":")' };
    const userMatches = tokenEqual(decoded.slice(0, colon), username);
    const matches = spec.secrets.map((password) => tokenEqual(decoded.slice(colon + 1), password));
    const secretIndex = userMatches ? matches.indexOf(true) : -1;
    if (secretIndex < 0) return { ok: false, reason: 'credentials do not match' };
    return { ok: true, secretIndex };
  };
}
