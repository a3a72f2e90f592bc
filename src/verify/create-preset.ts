import { AFTER_VERIFY } from './after-verify';
import { createVerifier } from './create-verifier';
import type { Preset, VerifySpec } from './types';

/** The verifier of a `verify:` block and its preset's after-verification hooks (load time). */
export function createPreset(spec: VerifySpec): Preset {
  return { verify: createVerifier(spec), ...(AFTER_VERIFY[spec.provider] ?? {}) };
}
