export type KeyPath = ReadonlyArray<string | number>;

/** A problem at a place in a mapping file: the key path, so it can be shown with line and column. */
export class PathError extends Error {
  readonly path: KeyPath;
  readonly hint?: string;

  constructor(path: KeyPath, message: string, hint?: string) {
    super(message);
    this.name = 'PathError';
    this.path = path;
    this.hint = hint;
  }
}

/**
 * Every problem found in one mapping file (issue 10): compiling goes on past the first broken key,
 * so one run of `flowhook validate` shows them all.
 */
export class PathErrors extends Error {
  readonly errors: readonly PathError[];

  constructor(errors: readonly PathError[]) {
    super(errors.map((error) => `${formatPath(error.path)}: ${error.message}`).join('; '));
    this.name = 'PathErrors';
    this.errors = errors;
  }
}

/** Runs `build`; any error it throws comes out as a PathError under `prefix`. */
export function atPath<T>(prefix: KeyPath, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof PathError)
      throw new PathError([...prefix, ...error.path], error.message, error.hint);
    throw new PathError(prefix, (error as Error).message);
  }
}

/** ["routes", 0, "when", 1] → "routes[0].when[1]" */
export function formatPath(path: KeyPath): string {
  return path.reduce<string>(
    (text, part) =>
      typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part,
    '',
  );
}
