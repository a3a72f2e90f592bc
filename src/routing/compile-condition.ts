import { compileJsonPath } from './json-path';
import type { RequestView } from './request-view';

export type Scalar = string | number | boolean | null;

/** A condition as written in a mapping file (after schema validation). */
export type ConditionDef =
  | { all: ConditionDef[] }
  | { any: ConditionDef[] }
  | { not: ConditionDef }
  | ({ path?: string; header?: string; query?: string } & {
      equals?: Scalar;
      in?: Scalar[];
      matches?: string;
      exists?: boolean;
    });

export type Predicate = (request: RequestView) => boolean;

/** Compiles a condition into a predicate; JSONPath and regexes are built here, once. */
export function compileCondition(def: ConditionDef): Predicate {
  if ('all' in def) {
    const parts = def.all.map(compileCondition);
    return (request) => parts.every((part) => part(request));
  }
  if ('any' in def) {
    const parts = def.any.map(compileCondition);
    return (request) => parts.some((part) => part(request));
  }
  if ('not' in def) {
    const inner = compileCondition(def.not);
    return (request) => !inner(request);
  }
  const subject = compileSubject(def);
  const holds = compileOperator(def, def.path === undefined);
  // A path can find several values: the condition holds when any of them satisfies the operator.
  if ('exists' in def) return (request) => subject(request).length > 0 === def.exists;
  return (request) => subject(request).some(holds);
}

function compileSubject(def: { path?: string; header?: string; query?: string }) {
  if (def.path !== undefined) {
    const path = compileJsonPath(def.path);
    return (request: RequestView) => path.all(request.body);
  }
  if (def.header !== undefined) {
    const name = def.header.toLowerCase();
    return (request: RequestView) => present(request.headers[name]);
  }
  const name = def.query as string;
  return (request: RequestView) => present(request.query[name]);
}

function present(value: string | undefined): unknown[] {
  return value === undefined ? [] : [value];
}

function compileOperator(
  def: { equals?: Scalar; in?: Scalar[]; matches?: string },
  textual: boolean,
): (value: unknown) => boolean {
  if (def.matches !== undefined) {
    let regex: RegExp;
    try {
      regex = new RegExp(def.matches);
    } catch (error) {
      throw new Error(`invalid regular expression /${def.matches}/: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return (value) =>
      (typeof value === 'string' || typeof value === 'number') && regex.test(String(value));
  }
  if (def.in !== undefined) {
    const options = def.in;
    return (value) => options.some((option) => sameValue(value, option, textual));
  }
  const expected = def.equals as Scalar;
  return (value) => sameValue(value, expected, textual);
}

/**
 * JSON values compare with their type (5 is not "5"); a header or query value is text, so it is
 * compared with the expected value written as text (`equals: 5` holds for the header "5").
 */
export function sameValue(value: unknown, expected: Scalar, textual: boolean): boolean {
  if (value === expected) return true;
  return textual && typeof value === 'string' && value === String(expected);
}
