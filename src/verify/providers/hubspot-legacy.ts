import { createHash } from 'node:crypto';
import { safeEqual } from '../hmac-signature';
import { readHeader } from '../read-header';
import type { Verifier } from '../types';

const sha256Hex = (parts: readonly (string | Buffer)[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

/**
 * HubSpot's legacy signatures, still sent next to v3: `X-HubSpot-Signature` with
 * `X-HubSpot-Signature-Version` v1 = sha256_hex(secret + body), v2 = sha256_hex(secret + method +
 * URI + body). Plain SHA-256, not HMAC, and no timestamp: a captured request replays forever,
 * which is why the hubspot preset accepts them only with `legacy: true`.
 * https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
 */
export function hubspotLegacy(
  secrets: readonly string[],
  urls: (url: string) => readonly string[],
): Verifier {
  return (req) => {
    const signature = readHeader(req.headers, 'X-HubSpot-Signature');
    if (signature === undefined) {
      return { ok: false, reason: 'missing X-HubSpot-Signature-v3 or X-HubSpot-Signature header' };
    }
    const version = readHeader(req.headers, 'X-HubSpot-Signature-Version') ?? 'v1';
    if (version !== 'v1' && version !== 'v2') {
      return { ok: false, reason: 'unsupported X-HubSpot-Signature-Version (expected v1 or v2)' };
    }
    const candidates = (secret: string): string[] =>
      version === 'v1'
        ? [sha256Hex([secret, req.rawBody])]
        : urls(req.url).map((url) => sha256Hex([secret + req.method + url, req.rawBody]));
    const secretIndex = secrets.findIndex((secret) =>
      candidates(secret).some((expected) => safeEqual(signature, expected)),
    );
    return secretIndex < 0
      ? { ok: false, reason: 'signature does not match' }
      : { ok: true, secretIndex };
  };
}
