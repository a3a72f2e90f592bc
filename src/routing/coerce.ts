export type VariableType = 'string' | 'number' | 'boolean' | 'json';

export type Coerced = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Converts a found value to the declared type, or says why it cannot. Only lossless, unsurprising
 * conversions: "42" → 42, 42 → "42", "true" → true, a JSON text → its value.
 */
export function coerce(value: unknown, type: VariableType): Coerced {
  switch (type) {
    case 'string':
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number' || typeof value === 'boolean')
        return { ok: true, value: String(value) };
      return fail(value, type);
    case 'number':
      if (typeof value === 'number') return { ok: true, value };
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
        return { ok: true, value: Number(value) };
      }
      return fail(value, type);
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 'true' || value === 'false') return { ok: true, value: value === 'true' };
      return fail(value, type);
    case 'json':
      if (typeof value !== 'string') return { ok: true, value };
      try {
        return { ok: true, value: JSON.parse(value) };
      } catch {
        return { ok: false, reason: 'is text that is not valid JSON' };
      }
  }
}

function fail(value: unknown, type: string): Coerced {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : describe(value);
  return { ok: false, reason: `${shown} is not a ${type}` };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : String(value);
}
