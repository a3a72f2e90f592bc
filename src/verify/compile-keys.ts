import { secretKey, type SecretFormat } from './hmac-signature';
import { VerifySpecError } from './types';

/** Keys are derived once at load; a secret that cannot be a key is a configuration error. */
export function compileKeys(format: SecretFormat, secrets: readonly string[]): Buffer[] {
  if (secrets.length === 0) throw new VerifySpecError('at least one secret is required');
  return secrets.map((secret, i) => {
    const key = typeof secret === 'string' ? secretKey(secret, format) : null;
    if (key === null || key.length === 0) {
      const hint =
        format === 'whsec'
          ? ' (expected whsec_<base64>)'
          : format === 'base64'
            ? ' (expected base64)'
            : '';
      throw new VerifySpecError(`secret #${i + 1} is empty or malformed${hint}`);
    }
    return key;
  });
}
