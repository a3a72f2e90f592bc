import RE2 from 're2';
import { atPath } from '../path-error';
import { compileJsonPath, MAX_PATH_MATCHES } from './json-path';
import type { RequestView } from './request-view';

export type Scalar = string | number | boolean | null;

const OPERATORS = [
  'equals',
  'in',
  'matches',
  'exists',
  'contains',
  'startsWith',
  'endsWith',
  'gt',
  'gte',
  'lt',
  'lte',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** A condition as written in a mapping file (after schema validation). */
export type ConditionDef =
  | { all: ConditionDef[] }
  | { any: ConditionDef[] }
  | { not: ConditionDef }
  | ({ path?: string; header?: string; query?: string } & Partial<Record<Operator, unknown>>);

/** Why a condition held or not, for `flowhook test`. */
export interface ConditionTrace {
  readonly condition: string;
  readonly held: boolean;
  /** What the subject found (every match of a path; a header or query value). */
  readonly found?: unknown[];
  readonly children?: ConditionTrace[];
}

export interface CompiledCondition {
  /** The request path: a plain predicate. */
  readonly holds: (request: RequestView) => boolean;
  /** The same decision, with what was found at each step. */
  readonly explain: (request: RequestView) => ConditionTrace;
}

/** Compiles a condition; JSONPath and regexes are built here, once. Throws on a bad regex or path. */
export function compileCondition(def: ConditionDef): CompiledCondition {
  if ('all' in def || 'any' in def) {
    const every = 'all' in def;
    const key = every ? 'all' : 'any';
    const list = (def as Record<string, ConditionDef[]>)[key];
    return combine(
      every,
      list.map((part, index) => atPath([key, index], () => compileCondition(part))),
    );
  }
  if ('not' in def) {
    const inner = atPath(['not'], () => compileCondition((def as { not: ConditionDef }).not));
    return {
      holds: (request) => !inner.holds(request),
      explain: (request) => {
        const child = inner.explain(request);
        return { condition: 'not', held: !child.held, children: [child] };
      },
    };
  }
  return compileTest(def);
}

/** all (every = true) or any over compiled conditions; an empty all always holds. */
export function combine(every: boolean, parts: readonly CompiledCondition[]): CompiledCondition {
  return {
    holds: every
      ? (request) => parts.every((part) => part.holds(request))
      : (request) => parts.some((part) => part.holds(request)),
    explain: (request) => {
      const children = parts.map((part) => part.explain(request));
      const held = every ? children.every((c) => c.held) : children.some((c) => c.held);
      return { condition: every ? 'all' : 'any', held, children };
    },
  };
}

type TestDef = { path?: string; header?: string; query?: string } & Partial<
  Record<Operator, unknown>
>;

function compileTest(def: ConditionDef): CompiledCondition {
  const spec = def as TestDef;
  const [subjectText, subject] = atPath(spec.path === undefined ? [] : ['path'], () =>
    compileSubject(spec),
  );
  const operator = OPERATORS.find((name) => name in spec) as Operator;
  const expected = spec[operator];
  const condition = `${subjectText} ${operator} ${JSON.stringify(expected)}`;
  // exists looks at the whole subject; every other operator holds when any found value satisfies it.
  let test: (found: unknown[]) => boolean;
  if (operator === 'exists') {
    test = (found) => found.length > 0 === expected;
  } else {
    const textual = spec.path === undefined;
    const check = atPath([operator], () => compileOperator(operator, expected, textual));
    test = (found) => found.some(check);
  }
  return {
    holds: (request) => test(subject(request)),
    explain: (request) => {
      const found = subject(request);
      return { condition, held: test(found), found };
    },
  };
}

type Subject = (request: RequestView) => unknown[];

function compileSubject(def: {
  path?: string;
  header?: string;
  query?: string;
}): [string, Subject] {
  if (def.path !== undefined) {
    const path = compileJsonPath(def.path);
    // A condition decides on the first MAX_PATH_MATCHES matches (issue 9, item 3).
    return [def.path, (request) => path.all(request.body).slice(0, MAX_PATH_MATCHES)];
  }
  if (def.header !== undefined) {
    const name = def.header.toLowerCase();
    return [`header ${def.header}`, (request) => present(request.headers[name])];
  }
  const name = def.query as string;
  return [`query ${name}`, (request) => present(request.query[name])];
}

function present(value: string | undefined): unknown[] {
  return value === undefined ? [] : [value];
}

/**
 * One test of one found value. `textual`: the subject is a header or query value, which is always
 * text, so it is compared with the expected value written as text (`equals: 5` holds for "5").
 */
function compileOperator(
  operator: Operator,
  expected: unknown,
  textual: boolean,
): (value: unknown) => boolean {
  switch (operator) {
    case 'equals':
      return (value) => sameValue(value, expected as Scalar, textual);
    case 'in': {
      const options = expected as Scalar[];
      return (value) => options.some((option) => sameValue(value, option, textual));
    }
    case 'matches': {
      const regex = compileRegex(expected as string);
      return (value) => {
        if (!isText(value)) return false;
        const text = String(value);
        // RE2 is linear in the subject; the cap bounds that line too (a 64 MB body is one string).
        return text.length <= MAX_MATCH_SUBJECT && regex.test(text);
      };
    }
    case 'contains':
      // A list contains an element; a text contains a substring.
      return (value) =>
        Array.isArray(value)
          ? value.some((item) => sameValue(item, expected as Scalar, false))
          : typeof value === 'string' && value.includes(String(expected));
    case 'startsWith':
      return (value) => typeof value === 'string' && value.startsWith(expected as string);
    case 'endsWith':
      return (value) => typeof value === 'string' && value.endsWith(expected as string);
    default: {
      const limit = expected as number | string;
      const compare = COMPARISONS[operator as 'gt' | 'gte' | 'lt' | 'lte'];
      return (value) => {
        const actual = comparable(value, typeof limit);
        return actual !== undefined && compare(actual, limit);
      };
    }
  }
}

/**
 * Longest text `matches` tests, in UTF-16 code units; a longer subject never matches. `matches`
 * checks the shape of ids, event names and commands, not of documents (issue 9, item 1).
 */
export const MAX_MATCH_SUBJECT = 65_536;

/**
 * `matches` runs on RE2 (the `re2` package): matching takes time linear in the subject whatever
 * the pattern, so a sender's text cannot stall the event loop with a pattern such as ^(a+)+$
 * (issue 9, item 1). RE2 has no backreferences and no lookaround; a pattern that uses them is a
 * load error that says so.
 */
function compileRegex(pattern: string): RE2 {
  try {
    return new RE2(pattern);
  } catch (error) {
    const reason = (error as Error).message;
    const unsupported = /invalid perl operator: \(\?<?[=!]|invalid escape sequence: \\(\d|k)/.test(
      reason,
    )
      ? '; matches uses a linear-time engine (RE2), which has no lookaround ((?=, (?!, (?<=, (?<!) and no backreferences (\\1, \\k<name>): rewrite the pattern without them, or test the parts with separate conditions'
      : '';
    throw new Error(`invalid regular expression /${pattern}/: ${reason}${unsupported}`, {
      cause: error,
    });
  }
}

const COMPARISONS = {
  gt: (a: number | string, b: number | string) => a > b,
  gte: (a: number | string, b: number | string) => a >= b,
  lt: (a: number | string, b: number | string) => a < b,
  lte: (a: number | string, b: number | string) => a <= b,
};

/**
 * gt/gte/lt/lte compare numbers with numbers (a numeric text such as a header counts as its
 * number) and texts with texts (ISO dates order correctly as text); anything else never holds.
 */
function comparable(value: unknown, kind: string): number | string | undefined {
  if (kind === 'number') {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
      return Number(value);
    return undefined;
  }
  return typeof value === 'string' ? value : undefined;
}

function isText(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * JSON values compare with their type (5 is not "5"); a header or query value is text, so it is
 * compared with the expected value written as text.
 */
export function sameValue(value: unknown, expected: Scalar, textual: boolean): boolean {
  if (value === expected) return true;
  return textual && typeof value === 'string' && value === String(expected);
}
