import type { HeaderMap } from './types';

/**
 * A header by its display name (e.g. "X-Hub-Signature-256"); the map's names are already lower-case.
 * Anything that is not a string (a caller passing Node's raw arrays) counts as absent, so a
 * verifier never throws on odd input.
 */
export function readHeader(headers: HeaderMap, name: string): string | undefined {
  const value: unknown = headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}
