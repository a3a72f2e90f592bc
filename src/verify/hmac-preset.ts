import { compileHmacOptions } from './compile-hmac-options';
import type { HmacOptions } from './hmac-options';
import type { HmacScheme } from './hmac-scheme';
import { hmacVerifier } from './hmac-verifier';
import type { Verifier, VerifySpec } from './types';

/**
 * A verifier factory over one HmacScheme that also hands out the scheme it verifies with, so
 * sign-request.ts signs a request from the very same declaration.
 */
export interface SchemePreset {
  (spec: VerifySpec): Verifier;
  readonly scheme: (spec: VerifySpec) => HmacScheme;
}

/** The verifier of `scheme(spec)`, run by the one engine, keyed with the spec's secrets. */
export function schemePreset(scheme: (spec: VerifySpec) => HmacScheme): SchemePreset {
  const verifier = (spec: VerifySpec): Verifier => hmacVerifier(scheme(spec), spec.secrets);
  return Object.assign(verifier, { scheme });
}

/**
 * A preset that is a declaration over the generic scheme: the provider's fixed options, plus the
 * ones a mapping may tune (`tolerance`, `publicUrl`; preset-options.ts says which each preset
 * takes). `adjust` adds what data cannot say, such as Twilio's URL variants.
 */
export function hmacPreset(
  name: string,
  declared: HmacOptions,
  adjust: (scheme: HmacScheme, spec: VerifySpec) => HmacScheme = (scheme) => scheme,
): SchemePreset {
  return schemePreset((spec) => {
    const options: HmacOptions = {
      ...declared,
      ...(spec.tolerance !== undefined && { tolerance: spec.tolerance }),
      ...(spec.publicUrl !== undefined && { publicUrl: spec.publicUrl }),
    };
    return adjust(compileHmacOptions(name, options), spec);
  });
}
