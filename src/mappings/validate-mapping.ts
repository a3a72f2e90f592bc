import type { ErrorObject, ValidateFunction } from 'ajv';
import { didYouMean } from './did-you-mean';
import * as generated from './mapping-validator.generated';
import { formatPath, type KeyPath } from '../path-error';
import type { MappingDef } from './types';

export interface SchemaProblem {
  readonly path: KeyPath;
  readonly message: string;
  /** The problem is the key at `path` itself (an unknown key), not its value. */
  readonly atKey?: boolean;
}

// schema/mapping.schema.json (the same schema editors use for completion), compiled at build
// time by ajv's standalone code (scripts/generate-mapping-validator.js): the server does not load
// ajv's compiler, which with the compiled schema held ~16 MB of its memory (issue 15).
const validate = generated.validate as unknown as ValidateFunction<MappingDef>;

/** Checks a parsed document against schema/mapping.schema.json; returns readable problems. */
export function validateMapping(document: unknown): SchemaProblem[] {
  if (validate(document)) return [];
  return summarize(validate.errors ?? []);
}

/**
 * ajv reports every branch of an anyOf/oneOf that failed; a person wants the one that explains
 * it. Keep the deepest place; there, an unknown key beats "missing key" from other branches, and
 * several missing keys mean "one of these is needed".
 */
function summarize(errors: readonly ErrorObject[]): SchemaProblem[] {
  const specific = errors.filter((e) => !['oneOf', 'anyOf', 'allOf', 'if'].includes(e.keyword));
  const candidates = specific.length > 0 ? specific : errors;
  // An error whose place holds a deeper error is the summary of a failed branch: the deeper one
  // explains it. Problems in unrelated places are all kept.
  const atDeepest = candidates.filter(
    (e) => !candidates.some((other) => other.instancePath.startsWith(`${e.instancePath}/`)),
  );
  const problems: SchemaProblem[] = [];
  const byPlace = new Map<string, ErrorObject[]>();
  for (const error of atDeepest)
    byPlace.set(error.instancePath, [...(byPlace.get(error.instancePath) ?? []), error]);
  for (const [instancePath, group] of byPlace) {
    const path = toPath(instancePath);
    const unknown = group.filter((e) => e.keyword === 'additionalProperties');
    const required = group.filter((e) => e.keyword === 'required');
    if (unknown.length > 0) {
      // Each anyOf branch reports the keys it does not know; the branch that knows most of the
      // object's keys is the one the author meant, and its own keys are the suggestions.
      const branches = new Map<string, ErrorObject[]>();
      for (const error of unknown)
        branches.set(error.schemaPath, [...(branches.get(error.schemaPath) ?? []), error]);
      const best = [...branches.values()].sort((a, b) => a.length - b.length)[0];
      const allowed = Object.keys((best[0].parentSchema?.properties as object) ?? {});
      for (const error of unique(best, (e) => String(e.params.additionalProperty))) {
        const key = String(error.params.additionalProperty);
        const guess = didYouMean(key, allowed);
        const hint = guess
          ? ` — did you mean "${guess}"?`
          : ` (expected one of: ${allowed.join(', ')})`;
        problems.push({
          path: [...path, key],
          message: `unknown key "${key}"${hint}`,
          atKey: true,
        });
      }
    } else if (required.length > 1) {
      const names = [...new Set(required.map((e) => String(e.params.missingProperty)))];
      problems.push({ path, message: `needs one of: ${names.join(', ')}` });
    } else {
      // "must be object" from the branches a value was not meant for says nothing useful when a
      // branch of the right type explains the problem.
      const typed = group.filter((e) => e.keyword !== 'type');
      const chosen = typed.length > 0 ? typed : group.slice(0, 1);
      problems.push(
        ...unique(chosen, (e) => describe(e)).map((e) => ({ path, message: describe(e) })),
      );
    }
  }
  return problems;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `missing key "${String(params.missingProperty)}"`;
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v));
      const guess =
        typeof error.data === 'string'
          ? didYouMean(error.data, params.allowedValues as string[])
          : undefined;
      return `must be one of ${allowed.join(', ')}${guess ? ` — did you mean "${guess}"?` : ''}`;
    }
    case 'pattern':
      if (String(params.pattern).includes('\\{\\{')) {
        return 'must be a JSONPath starting with $, a {{ template }}, or { value: … } for constant text';
      }
      if (String(params.pattern) === '^\\$') return 'must be a JSONPath starting with $';
      return `must match ${String(params.pattern)}`;
    case 'minLength':
      return 'must not be empty';
    case 'type':
      return error.instancePath === ''
        ? 'a mapping file must be a YAML mapping (key: value lines) with verify and routes'
        : `must be ${String(params.type).replace(/,/g, ' or ')}`;
    default:
      return error.message ?? 'is invalid';
  }
}

function unique<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => !seen.has(key(item)) && (seen.add(key(item)), true));
}

/** "/routes/0/when/1" → ["routes", 0, "when", 1] */
function toPath(instancePath: string): KeyPath {
  if (instancePath === '') return [];
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

export { formatPath };
