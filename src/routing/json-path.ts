import { JSONPath } from 'jsonpath-plus';

/**
 * Most matches one evaluation collects (issue 9, item 3): `$..*` over a large nested payload
 * matches every node, and each match may be a whole subtree. Past this, evaluation stops.
 */
export const MAX_PATH_MATCHES = 10_000;

/** A JSONPath compiled once at load; the request path only walks it. */
export interface CompiledJsonPath {
  readonly source: string;
  /**
   * Every match, in document order, up to MAX_PATH_MATCHES + 1: one more than the cap says the
   * cap was passed, without collecting the rest.
   */
  all(json: unknown): unknown[];
  /** The first match, or undefined when nothing matches. */
  first(json: unknown): unknown;
}

// A segment of a plain path ($.a.b[0]) that can be read as an own property without jsonpath-plus.
const PLAIN_SEGMENT = /^[A-Za-z0-9_$][\w$-]*$/;
const hasOwn = (value: object, key: string) => Object.prototype.hasOwnProperty.call(value, key);

/**
 * Compiles a JSONPath. Script and filter expressions are refused: a mapping file must never be
 * able to run code, so jsonpath-plus always runs with `eval: false` as well.
 * Throws an Error with a user-facing message when the path is unusable.
 */
export function compileJsonPath(source: string): CompiledJsonPath {
  if (!source.startsWith('$')) throw new Error(`JSONPath "${source}" must start with $`);
  if (/[?(]/.test(source.replace(/'[^']*'|"[^"]*"/g, ''))) {
    throw new Error(
      `JSONPath "${source}": filter and script expressions are disabled; use a condition (in when) or where/pick (in a variable) instead`,
    );
  }
  if (!balanced(source)) throw new Error(`JSONPath "${source}" has unbalanced brackets or quotes`);
  const segments = JSONPath.toPathArray(source).slice(1);
  if (segments.length > 0 && segments.every((s) => PLAIN_SEGMENT.test(s))) {
    return plainPath(source, segments);
  }
  const pathArray = JSONPath.toPathArray(source);
  // Matches are taken from jsonpath-plus's callback, which it calls as it walks; throwing from it
  // is the only way to stop a walk early (at the cap, or at the first match for first()).
  const collect = (json: unknown, limit: number): unknown[] => {
    const found: unknown[] = [];
    try {
      JSONPath({
        path: pathArray,
        json: json as object,
        eval: false,
        wrap: true,
        resultType: 'value',
        callback: (value: unknown) => {
          found.push(value);
          if (found.length >= limit) throw ENOUGH;
        },
      });
    } catch (error) {
      if (error !== ENOUGH) throw error;
    }
    return found;
  };
  collect({}, 1); // surfaces a path jsonpath-plus cannot evaluate at load time, not per request
  return {
    source,
    all: (json) => collect(json, MAX_PATH_MATCHES + 1),
    first: (json) => collect(json, 1)[0],
  };
}

const ENOUGH = Symbol('enough matches');

/** $.a.b[0]: a walk over own properties, the same answers as jsonpath-plus without its overhead. */
function plainPath(source: string, segments: readonly string[]): CompiledJsonPath {
  const first = (json: unknown): unknown => {
    let current = json;
    for (const segment of segments) {
      // Own properties only (never the prototype chain); a string's own "length" counts, as in jsonpath-plus.
      if (current === null || current === undefined || !hasOwn(Object(current), segment)) {
        return undefined;
      }
      current = (current as Record<string, unknown>)[segment];
    }
    return current;
  };
  return {
    source,
    first,
    all: (json) => {
      const found = first(json);
      return found === undefined ? [] : [found];
    },
  };
}

function balanced(source: string): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (const char of source) {
    if (quote) {
      if (char === quote) quote = null;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === '[') {
      depth += 1;
    } else if (char === ']') {
      depth -= 1;
      if (depth < 0) return false;
    }
  }
  return depth === 0 && quote === null;
}
