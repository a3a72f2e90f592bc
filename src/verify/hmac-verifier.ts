import { checkTimestamp, isTimestamp } from './check-timestamp';
import type { HeaderSet, HmacScheme } from './hmac-scheme';
import { hmacDigest, safeEqual, secretKey } from './hmac-signature';
import { readHeader } from './read-header';
import { VerifySpecError, type Verifier, type VerifyRequest, type VerifyResult } from './types';

const fail = (reason: string): VerifyResult => ({ ok: false, reason });

/** Keys are derived once at load; a secret that cannot be a key is a configuration error. */
function compileKeys(scheme: HmacScheme, secrets: readonly string[]): Buffer[] {
  if (secrets.length === 0) throw new VerifySpecError('at least one secret is required');
  return secrets.map((secret, i) => {
    const key = typeof secret === 'string' ? secretKey(secret, scheme.secretFormat) : null;
    if (key === null || key.length === 0) {
      const hint = scheme.secretFormat === 'whsec' ? ' (expected whsec_<base64>)' : '';
      throw new VerifySpecError(`secret #${i + 1} is empty or malformed${hint}`);
    }
    return key;
  });
}

function firstHeader(req: VerifyRequest, names: readonly string[] = []): string | undefined {
  return names.map((name) => readHeader(req.headers, name)).find((v) => v !== undefined);
}

/** The one verification engine: every HMAC preset is a `HmacScheme` run through this. */
export function hmacVerifier(scheme: HmacScheme, secrets: readonly string[]): Verifier {
  const keys = compileKeys(scheme, secrets);
  const wanted = scheme.headerSets.map((s) => s.signature).join(' or ');
  const pick = (req: VerifyRequest): HeaderSet | undefined =>
    scheme.headerSets.find((set) => readHeader(req.headers, set.signature) !== undefined);

  return (req) => {
    const set = pick(req);
    if (set === undefined) return fail(`missing ${wanted} header`);
    const parsed = scheme.parse(readHeader(req.headers, set.signature) ?? '', set.signature);
    if (!parsed.ok) return fail(parsed.reason);

    const stampHeader = set.timestamp ?? set.signature;
    const timestamp = parsed.timestamp ?? firstHeader(req, set.timestamp ? [set.timestamp] : []);
    if (timestamp === undefined && (set.timestamp || scheme.content.uses.has('timestamp'))) {
      return fail(`missing ${stampHeader} header`);
    }
    if (timestamp !== undefined && !isTimestamp(timestamp)) {
      return fail(
        `malformed timestamp in ${stampHeader} header (expected seconds since the epoch)`,
      );
    }
    const id = firstHeader(req, set.id);
    if (id === undefined && scheme.content.uses.has('id')) {
      return fail(`missing ${set.id?.[0] ?? 'id'} header`);
    }

    const parts = scheme.content.parts({ body: req.rawBody, timestamp, id });
    const secretIndex = keys.findIndex((key) => {
      const expected = hmacDigest(scheme.algorithm, key, parts, scheme.encoding);
      return parsed.signatures.some((candidate) => safeEqual(candidate, expected));
    });
    if (secretIndex < 0) return fail('signature does not match');

    // Checked after the signature, as stripe-node does, so "too old" is only said of a genuine request.
    const stale =
      timestamp === undefined ? null : checkTimestamp(+timestamp, req.now, scheme.tolerance);
    if (stale !== null) return fail(stale);
    return id === undefined ? { ok: true, secretIndex } : { ok: true, secretIndex, deliveryId: id };
  };
}
