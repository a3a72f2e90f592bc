import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../schema/mapping.schema.json';
import verifySchema from '../../schema/verify.schema.json';
import type { MappingDef } from './types';

// Compiled once per process; the same schema editors use for completion.
const ajv = new Ajv({ allErrors: true, strict: false }).addSchema(verifySchema);
const validate = ajv.compile<MappingDef>(schema);

/** Checks a parsed document against schema/mapping.schema.json; returns readable problems. */
export function validateMapping(document: unknown): string[] {
  if (validate(document)) return [];
  return summarize(validate.errors ?? []);
}

/**
 * ajv reports every branch of a oneOf that failed; a person wants the one or two that explain it.
 * Keep the deepest errors (they are the most specific), drop the oneOf/anyOf summaries.
 */
function summarize(errors: readonly ErrorObject[]): string[] {
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf');
  const deepest = Math.max(0, ...specific.map((e) => depth(e.instancePath)));
  const chosen = specific.filter((e) => depth(e.instancePath) === deepest);
  const lines = (chosen.length > 0 ? chosen : errors).map(describe);
  return [...new Set(lines)];
}

function depth(instancePath: string): number {
  return instancePath === '' ? 0 : instancePath.split('/').length - 1;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? 'the file' : keyPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where}: unknown key "${String(params.additionalProperty)}"`;
    case 'required':
      return `${where}: missing key "${String(params.missingProperty)}"`;
    case 'enum':
      return `${where}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where}: ${error.message ?? 'is invalid'}`;
  }
}

/** "/routes/0/when/1" → "routes[0].when[1]" */
function keyPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
      '',
    );
}
