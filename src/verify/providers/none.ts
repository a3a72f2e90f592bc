import type { Verifier, VerifySpec } from '../types';

/** No verification: for trusted networks and local testing only. The mapping says so explicitly. */
export function none(_spec: VerifySpec): Verifier {
  return () => ({ ok: true, secretIndex: null });
}
