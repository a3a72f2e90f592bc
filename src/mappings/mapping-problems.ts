import type { LoadProblem, MappingSet } from './types';

/**
 * Every problem of the mapping files, file by file and line by line: the errors (which disable a
 * source until fixed) and the unset `${VAR}`s a source waits for (marked `variable`). The one list
 * `flowhook validate`, `flowhook test`, the start and reload logs and `/readyz` show, so each of
 * them tells an author the same thing (issue 10). `files` keeps only those files' problems.
 */
export function mappingProblems(set: MappingSet, files?: readonly string[]): LoadProblem[] {
  const all = [...set.errors, ...set.unsetVariables].filter(
    (problem) => files === undefined || files.includes(problem.file),
  );
  // Stable: problems without a position keep their order, ahead of the positioned ones.
  return all.sort(
    (a, b) =>
      compare(a.file, b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
