import type { MappingSet } from '../mappings/types';
import { createSecretRedactor, type SecretRedactor } from './create-secret-redactor';

/**
 * The redactor of the current mapping set's secrets and the flow token, built again only when
 * the set changes (a reload): a request pays a lookup, not a compile.
 */
export function currentSecrets(
  mappings: () => MappingSet,
  flowToken: string | undefined,
): () => SecretRedactor {
  let cached: { set: MappingSet; redactor: SecretRedactor } | undefined;
  return () => {
    const set = mappings();
    if (cached?.set !== set) {
      const secrets = [...(set.secrets ?? []), ...(flowToken === undefined ? [] : [flowToken])];
      cached = { set, redactor: createSecretRedactor(secrets) };
    }
    return cached.redactor;
  };
}
