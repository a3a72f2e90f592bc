import { DEFAULT_TOLERANCE, resolveTolerance } from './check-timestamp';
import type { HmacScheme } from './hmac-scheme';
import type { DigestEncoding, HmacAlgorithm } from './hmac-signature';
import { hmacVerifier } from './hmac-verifier';
import { prefixedSignature } from './prefixed-signature';
import { signedContent } from './signed-content';
import { VerifySpecError, type Verifier, type VerifySpec } from './types';

function oneOf<T extends string>(key: string, value: T | undefined, allowed: readonly T[]): T {
  const chosen = value ?? allowed[0];
  if (chosen === undefined || !allowed.includes(chosen)) {
    throw new VerifySpecError(`hmac: ${key} must be one of ${allowed.join(', ')}`);
  }
  return chosen;
}

/**
 * The `verify:` options, compiled once into the same `HmacScheme` the presets declare (the
 * github preset is `{header: X-Hub-Signature-256, prefix: "sha256="}` here). Each concern is its
 * own field so that later options (several signatures per header, secret encodings, timestamp
 * units or a body-path timestamp) replace one field, not the engine.
 */
export function hmacScheme(spec: VerifySpec): HmacScheme {
  if (typeof spec.header !== 'string' || spec.header === '') {
    throw new VerifySpecError('hmac: option "header" is required');
  }
  if (spec.timestampHeader === '' || spec.idHeader === '') {
    throw new VerifySpecError('hmac: timestampHeader and idHeader must not be empty');
  }
  const content = signedContent(spec.signedContent ?? '{body}');
  // A timestamp that is not signed can be rewritten by anyone, so its replay check would be theatre.
  if (spec.timestampHeader !== undefined && !content.uses.has('timestamp')) {
    throw new VerifySpecError('hmac: timestampHeader is set but signedContent has no {timestamp}');
  }
  if (content.uses.has('timestamp') && spec.timestampHeader === undefined) {
    throw new VerifySpecError(
      'hmac: signedContent uses {timestamp} but timestampHeader is not set',
    );
  }
  if (content.uses.has('id') && spec.idHeader === undefined) {
    throw new VerifySpecError('hmac: signedContent uses {id} but idHeader is not set');
  }
  const headers = {
    signature: spec.header,
    ...(spec.timestampHeader !== undefined && { timestamp: spec.timestampHeader }),
    ...(spec.idHeader !== undefined && { id: [spec.idHeader] }),
  };
  return {
    headerSets: [headers],
    parse: prefixedSignature(spec.prefix ?? ''),
    algorithm: oneOf<HmacAlgorithm>('algorithm', spec.algorithm, ['sha256', 'sha1', 'sha512']),
    encoding: oneOf<DigestEncoding>('encoding', spec.encoding, ['hex', 'base64']),
    content,
    secretFormat: 'utf8',
    tolerance: resolveTolerance(spec.tolerance, DEFAULT_TOLERANCE),
  };
}

/** Generic HMAC for providers without a preset (Cal.com, Intercom, Typeform, …). */
export function hmac(spec: VerifySpec): Verifier {
  return hmacVerifier(hmacScheme(spec), spec.secrets);
}
