import { compileHmacOptions } from '../compile-hmac-options';
import { schemePreset } from '../hmac-preset';
import type { HmacScheme } from '../hmac-scheme';
import type { VerifySpec } from '../types';

/**
 * The `verify:` options of `provider: hmac`, compiled by the same function the presets use: the
 * github preset is `{ header: X-Hub-Signature-256, prefix: "sha256=" }` here, Stripe's is
 * `{ header: Stripe-Signature, separator: ",", prefix: "v1=", timestampPrefix: "t=",
 * signedContent: "{timestamp}.{body}" }`.
 */
export function hmacScheme(spec: VerifySpec): HmacScheme {
  return compileHmacOptions('hmac', {
    header: spec.header ?? '',
    prefix: spec.prefix,
    separator: spec.separator,
    timestampPrefix: spec.timestampPrefix,
    algorithm: spec.algorithm,
    encoding: spec.encoding,
    secretEncoding: spec.secretEncoding,
    signedContent: spec.signedContent,
    timestampHeader: spec.timestampHeader,
    timestampPath: spec.timestampPath,
    timestampUnit: spec.timestampUnit,
    idHeader: spec.idHeader,
    tolerance: spec.tolerance,
    publicUrl: spec.publicUrl,
  });
}

/** Generic HMAC for providers without a preset. */
export const hmac = schemePreset(hmacScheme);
