import { compileHmacOptions } from './compile-hmac-options';
import type { HmacOptions } from './hmac-options';
import type { HmacScheme } from './hmac-scheme';
import { hmacVerifier } from './hmac-verifier';
import type { Verifier, VerifySpec } from './types';

/**
 * A preset that is a declaration over the generic scheme: the provider's fixed options, plus the
 * ones a mapping may tune (`tolerance`, `publicUrl`; preset-options.ts says which each preset
 * takes). `adjust` adds what data cannot say, such as Twilio's URL variants.
 */
export function hmacPreset(
  name: string,
  declared: HmacOptions,
  adjust: (scheme: HmacScheme, spec: VerifySpec) => HmacScheme = (scheme) => scheme,
): (spec: VerifySpec) => Verifier {
  return (spec) => {
    const options: HmacOptions = {
      ...declared,
      ...(spec.tolerance !== undefined && { tolerance: spec.tolerance }),
      ...(spec.publicUrl !== undefined && { publicUrl: spec.publicUrl }),
    };
    return hmacVerifier(adjust(compileHmacOptions(name, options), spec), spec.secrets);
  };
}
