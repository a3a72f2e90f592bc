import { compileJsonPath } from './json-path';
import type { RequestView } from './request-view';

/** A variable as written in a mapping file (after schema validation). */
export type VariableDef =
  | string
  | { path: string; default?: unknown; required?: boolean }
  | { header: string; default?: unknown; required?: boolean }
  | { query: string; default?: unknown; required?: boolean }
  | { value: unknown };

export interface Extraction {
  /** The flow's input variables; a variable that found nothing and has no default is left out. */
  readonly variables: Record<string, unknown>;
  /** Names of required variables that found nothing (a 422). */
  readonly missing: string[];
}

export type VariableExtractor = (request: RequestView) => Extraction;

type Reader = (request: RequestView) => unknown;

interface CompiledVariable {
  readonly name: string;
  readonly read: Reader;
  readonly fallback: unknown;
  readonly required: boolean;
}

/** Compiles a route's `variables:` block into one extractor; JSONPath is parsed here, once. */
export function compileVariables(defs: Readonly<Record<string, VariableDef>>): VariableExtractor {
  const compiled = Object.entries(defs).map(([name, def]) => compileVariable(name, def));
  return (request) => {
    // No prototype: a variable may be called __proto__ without touching Object.prototype.
    const variables: Record<string, unknown> = Object.create(null);
    const missing: string[] = [];
    for (const variable of compiled) {
      let value = variable.read(request);
      if (value === undefined) value = variable.fallback;
      if (value !== undefined) variables[variable.name] = value;
      else if (variable.required) missing.push(variable.name);
    }
    return { variables, missing };
  };
}

function compileVariable(name: string, def: VariableDef): CompiledVariable {
  if (typeof def === 'string') {
    const path = compileJsonPath(def);
    return {
      name,
      read: (request) => path.first(request.body),
      fallback: undefined,
      required: false,
    };
  }
  if ('value' in def) {
    const constant = def.value;
    return { name, read: () => constant, fallback: undefined, required: false };
  }
  const options = { fallback: def.default, required: def.required === true };
  if ('path' in def) {
    const path = compileJsonPath(def.path);
    return { name, read: (request) => path.first(request.body), ...options };
  }
  if ('header' in def) {
    const header = def.header.toLowerCase();
    return { name, read: (request) => request.headers[header], ...options };
  }
  const key = def.query;
  return { name, read: (request) => request.query[key], ...options };
}
