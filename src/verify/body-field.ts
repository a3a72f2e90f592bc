/** A field of a parsed body by path (["event-data", "id"]), or undefined; own properties only. */
export function bodyField(body: unknown, ...path: string[]): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A bodyDeliveryId hook: the string (or number) at `path`, as a string. */
export function idAt(...path: string[]): (body: unknown) => string | undefined {
  return (body) => {
    const id = bodyField(body, ...path);
    if (typeof id === 'string' && id !== '') return id;
    return typeof id === 'number' && Number.isFinite(id) ? String(id) : undefined;
  };
}
