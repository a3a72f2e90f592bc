import type { KeyPath } from '../path-error';

/** `${VAR}` or `${VAR:-fallback}` inside a string value. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface Substitution<T> {
  readonly value: T;
  /** Variables that were referenced but unset or empty, with no fallback, in first-seen order. */
  readonly missing: string[];
  /** Where each missing variable is used: the key paths of the values naming it, in order. */
  readonly missingAt: ReadonlyMap<string, readonly KeyPath[]>;
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
  const missing = new Map<string, KeyPath[]>();
  const walk = (node: unknown, at: KeyPath): unknown => {
    if (typeof node === 'string') {
      return node.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        missing.set(name, [...(missing.get(name) ?? []), at]);
        return placeholder ? placeholder(name) : '';
      });
    }
    if (Array.isArray(node)) return node.map((child, i) => walk(child, [...at, i]));
    if (node !== null && typeof node === 'object') {
      const copy: Record<string, unknown> = Object.create(null);
      for (const [key, child] of Object.entries(node)) copy[key] = walk(child, [...at, key]);
      return copy;
    }
    return node;
  };
  return { value: walk(document, []) as T, missing: [...missing.keys()], missingAt: missing };
}
