import { checkTimestamp } from './check-timestamp';
import { compileKeys } from './compile-keys';
import type { HeaderSet, HmacScheme } from './hmac-scheme';
import { hmacDigest, safeEqual } from './hmac-signature';
import { readHeader } from './read-header';
import { bodyTimestamp, headerTimestamp } from './read-timestamp';
import type { Verifier, VerifyRequest, VerifyResult } from './types';

const fail = (reason: string): VerifyResult => ({ ok: false, reason });

function firstHeader(req: VerifyRequest, names: readonly string[] = []): string | undefined {
  return names.map((name) => readHeader(req.headers, name)).find((v) => v !== undefined);
}

/** The one verification engine: every HMAC preset is a `HmacScheme` run through this. */
export function hmacVerifier(scheme: HmacScheme, secrets: readonly string[]): Verifier {
  const keys = compileKeys(scheme.secretFormat, secrets);
  const { content } = scheme;
  const wanted = scheme.headerSets.map((s) => s.signature).join(' or ');
  const pick = (req: VerifyRequest): HeaderSet | undefined =>
    scheme.headerSets.find((set) => readHeader(req.headers, set.signature) !== undefined);

  return (req) => {
    const set = pick(req);
    if (set === undefined) return fail(`missing ${wanted} header`);
    const parse = set.parse ?? scheme.parse;
    const parsed = parse(readHeader(req.headers, set.signature) ?? '', set.signature);
    if (!parsed.ok) return fail(parsed.reason);
    const stamp = headerTimestamp(scheme, set, parsed.timestamp, req);
    if (!stamp.ok) return fail(stamp.reason);
    const id = firstHeader(req, set.id);
    if (id === undefined && content.uses.has('id')) return fail(`missing ${set.id?.[0]} header`);
    const absent = content.headers.find((name) => readHeader(req.headers, name) === undefined);
    if (absent !== undefined) return fail(`missing ${absent} header`);

    // The URL is read only by schemes that sign it (working it out costs header reads).
    const urls = content.uses.has('url') ? scheme.urls(req.url) : [undefined];
    const algorithm = set.algorithm ?? scheme.algorithm;
    const values = {
      body: req.rawBody,
      method: req.method,
      headers: req.headers,
      timestamp: stamp.raw,
      id,
    };
    const secretIndex = keys.findIndex((key) =>
      urls.some((url) => {
        const expected = hmacDigest(
          algorithm,
          key,
          content.parts({ ...values, url }),
          scheme.encoding,
        );
        return parsed.signatures.some((candidate) => safeEqual(candidate, expected));
      }),
    );
    if (secretIndex < 0) return fail('signature does not match');
    const extra = scheme.check?.(req) ?? null;
    if (extra !== null) return fail(extra);

    // Checked after the signature, as stripe-node does, so "too old" is only said of a genuine request.
    const signed = stamp.ms !== undefined ? stamp : bodyTimestamp(scheme, req);
    if (!signed.ok) return fail(signed.reason);
    const stale =
      signed.ms === undefined ? null : checkTimestamp(signed.ms, req.now, scheme.tolerance);
    if (stale !== null) return fail(stale);
    return id === undefined ? { ok: true, secretIndex } : { ok: true, secretIndex, deliveryId: id };
  };
}
