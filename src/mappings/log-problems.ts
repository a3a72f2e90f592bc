import type { Logger } from '../logger';
import type { LoadProblem } from './types';

/**
 * The start and reload log lines for mapping problems: one line per problem, an error for what
 * needs fixing, a warning for an unset variable (its source waits for it).
 */
export function logProblems(logger: Logger, problems: readonly LoadProblem[]): void {
  for (const problem of problems) {
    const line = `mapping file ${problem.file}: ${problem.message}`;
    if (problem.variable === undefined) logger.error({ file: problem.file }, line);
    else logger.warn({ file: problem.file, variable: problem.variable }, line);
  }
}
