/** `${VAR}` or `${VAR:-fallback}` inside a string value. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface Substitution<T> {
  readonly value: T;
  /** Variables that were referenced but unset or empty, with no fallback, in first-seen order. */
  readonly missing: string[];
}

/**
 * Replaces environment references in every string value of a parsed YAML document. Keys are left
 * alone, and substitution happens after parsing, so a value from the environment can never change
 * the document's structure.
 */
export function substituteEnv<T>(
  document: T,
  env: Readonly<Record<string, string | undefined>>,
  /** For tools (validate, test): what an unset variable without a fallback becomes, instead of missing. */
  placeholder?: (name: string) => string,
): Substitution<T> {
  const missing = new Set<string>();
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      return node.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        missing.add(name);
        return placeholder ? placeholder(name) : '';
      });
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      const copy: Record<string, unknown> = Object.create(null);
      for (const [key, child] of Object.entries(node)) copy[key] = walk(child);
      return copy;
    }
    return node;
  };
  return { value: walk(document) as T, missing: [...missing] };
}
