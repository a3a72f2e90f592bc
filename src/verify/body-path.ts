import { VerifySpecError } from './types';

const PATH = /^\$(\.[A-Za-z0-9_-]+)+$/;

/** "$.a.b" → ["a", "b"]; only plain dotted paths, checked at load. */
export function compileBodyPath(path: string): string[] {
  if (!PATH.test(path)) {
    throw new VerifySpecError(
      `timestampPath must be a plain path like $.webhookTimestamp, not "${path}"`,
    );
  }
  return path.split('.').slice(1);
}

/**
 * The value at `path` in a JSON body, or undefined (not JSON, or no such field). Called only on a
 * body whose signature has been verified; own properties only, so "__proto__" finds nothing.
 */
export function readBodyPath(body: Buffer, path: readonly string[]): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
