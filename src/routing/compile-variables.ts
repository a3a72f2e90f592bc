import { FlowhookError } from '../errors';
import { atPath } from '../path-error';
import { coerce, type VariableType } from './coerce';
import { compileCondition, type ConditionDef } from './compile-condition';
import { compileTemplate, isTemplate } from './compile-template';
import { compileJsonPath, MAX_PATH_MATCHES } from './json-path';
import type { RequestView } from './request-view';

interface Options {
  default?: unknown;
  required?: boolean;
  type?: VariableType;
}

/** A variable as written in a mapping file (after schema validation). */
export type VariableDef =
  | string
  | number
  | boolean
  | null
  | ({ path: string; all?: boolean; where?: ConditionDef; pick?: string } & Options)
  | ({ header: string } & Options)
  | ({ query: string } & Options)
  | ({ template: string } & Options)
  | { value: unknown }
  | { object: Record<string, VariableDef> };

export interface Extraction {
  /** The flow's input variables; a variable that found nothing and has no default is left out. */
  readonly variables: Record<string, unknown>;
  /** Required variables that found nothing (a 422). */
  readonly missing: string[];
  /** Variables whose value could not be converted to their `type` (a 422). */
  readonly invalid: { name: string; reason: string }[];
}

export type VariableExtractor = (request: RequestView) => Extraction;

interface CompiledVariable {
  readonly name: string;
  /** Reads the value; undefined = nothing found. */
  readonly read: (request: RequestView, out: Extraction, prefix: string) => unknown;
  readonly fallback: unknown;
  readonly required: boolean;
  readonly type: VariableType | undefined;
}

/** Compiles a route's `variables:` block into one extractor; JSONPath is parsed here, once. */
export function compileVariables(defs: Readonly<Record<string, VariableDef>>): VariableExtractor {
  const group = compileGroup(defs);
  return (request) => {
    const out: Extraction = { variables: {}, missing: [], invalid: [] };
    return { ...out, variables: group(request, out, '') };
  };
}

type Group = (request: RequestView, out: Extraction, prefix: string) => Record<string, unknown>;

function compileGroup(defs: Readonly<Record<string, VariableDef>>): Group {
  const compiled = Object.entries(defs).map(([name, def]) =>
    atPath([name], () => compileVariable(name, def)),
  );
  return (request, out, prefix) => {
    // No prototype: a variable may be called __proto__ without touching Object.prototype.
    const values: Record<string, unknown> = Object.create(null);
    for (const variable of compiled) {
      const qualified = prefix + variable.name;
      let value = readBounded(variable, request, out, qualified);
      if (value === undefined) value = variable.fallback;
      if (value === undefined) {
        if (variable.required) out.missing.push(qualified);
        continue;
      }
      if (variable.type !== undefined) {
        const converted = convert(value, variable.type);
        if (!converted.ok) {
          out.invalid.push({ name: qualified, reason: converted.reason });
          continue;
        }
        value = converted.value;
      }
      values[variable.name] = value;
    }
    return values;
  };
}

/** A path that matched more than MAX_PATH_MATCHES values: stopped, and refused (issue 9, item 3). */
class TooManyMatches extends Error {}

function readBounded(
  variable: CompiledVariable,
  request: RequestView,
  out: Extraction,
  qualified: string,
): unknown {
  try {
    return variable.read(request, out, `${qualified}.`);
  } catch (error) {
    if (!(error instanceof TooManyMatches)) throw error;
    throw new FlowhookError(
      'variables_too_large',
      `variable ${qualified} matches more than ${MAX_PATH_MATCHES} values in this request`,
      { variables: [qualified] },
    );
  }
}

/** Every match of a path, refused past the cap rather than cut: a flow must not get part of a list. */
function bounded(found: unknown[]): unknown[] {
  if (found.length > MAX_PATH_MATCHES) throw new TooManyMatches();
  return found;
}

/** `type` applies to each element of an `all: true` list. */
function convert(value: unknown, type: VariableType) {
  if (!Array.isArray(value) || type === 'json') return coerce(value, type);
  const items: unknown[] = [];
  for (const item of value) {
    const converted = coerce(item, type);
    if (!converted.ok) return converted;
    items.push(converted.value);
  }
  return { ok: true as const, value: items };
}

function compileVariable(name: string, def: VariableDef): CompiledVariable {
  const constant = (value: unknown): CompiledVariable => ({
    name,
    read: () => value,
    fallback: undefined,
    required: false,
    type: undefined,
  });
  if (typeof def === 'string') {
    const read = isTemplate(def) ? compileTemplate(def) : first(def);
    return { name, read, fallback: undefined, required: false, type: undefined };
  }
  if (def === null || typeof def !== 'object') return constant(def);
  if ('value' in def) return constant(def.value);
  if ('object' in def) {
    const group = atPath(['object'], () => compileGroup(def.object));
    return { name, read: group, fallback: undefined, required: false, type: undefined };
  }
  const options = { fallback: def.default, required: def.required === true, type: def.type };
  if ('path' in def) {
    // `all: true` that finds nothing: the default, else missing when required, else an empty list.
    const fallback = 'default' in def ? def.default : def.all && !options.required ? [] : undefined;
    return { name, read: compilePathVariable(def), ...options, fallback };
  }
  if ('template' in def) return { name, read: compileTemplate(def.template), ...options };
  if ('header' in def) {
    const header = def.header.toLowerCase();
    return { name, read: (request) => request.headers[header], ...options };
  }
  const key = def.query;
  return { name, read: (request) => request.query[key], ...options };
}

function first(path: string) {
  const compiled = compileJsonPath(path);
  return (request: RequestView) => compiled.first(request.body);
}

/**
 * `path` with `all` (every match, as a list), `where` (keep the matches for which a condition
 * holds, the condition's paths read from each match) and `pick` (a JSONPath read from each kept
 * match). `where` is how a mapping selects list items by a field, e.g. a Typeform answer by its
 * field ref, since JSONPath filter expressions are disabled.
 */
function compilePathVariable(def: {
  path: string;
  all?: boolean;
  where?: ConditionDef;
  pick?: string;
}) {
  const path = compileJsonPath(def.path);
  if (def.where === undefined && def.pick === undefined) {
    return def.all
      ? (request: RequestView) => nonEmpty(bounded(path.all(request.body)))
      : (request: RequestView) => path.first(request.body);
  }
  const where =
    def.where === undefined
      ? undefined
      : atPath(['where'], () => compileCondition(def.where as ConditionDef));
  const pick =
    def.pick === undefined
      ? undefined
      : atPath(['pick'], () => compileJsonPath(def.pick as string));
  return (request: RequestView) => {
    const results: unknown[] = [];
    for (const match of bounded(path.all(request.body))) {
      if (where && !where.holds({ body: match, headers: request.headers, query: request.query }))
        continue;
      const value = pick ? pick.first(match) : match;
      if (value === undefined) continue;
      if (!def.all) return value;
      results.push(value);
    }
    return def.all ? nonEmpty(results) : undefined;
  };
}

function nonEmpty(list: unknown[]): unknown[] | undefined {
  return list.length > 0 ? list : undefined;
}
