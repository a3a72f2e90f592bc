import type { FileOutcome } from '../mappings/load-file';
import type { CompiledSource } from '../mappings/types';
import { describeLimits, sameLimits } from './compile-limits';
import type { DeclaredLimits } from './types';

interface Claim {
  readonly limits: DeclaredLimits;
  readonly file: string;
}

/**
 * A flow has one budget, however many files execute it. A file whose routes declare other limits
 * for a flow than another file already does is turned into an invalid outcome whose problem names
 * both places (on a reload its last good version keeps serving). Files already serving (unchanged
 * since the last reload and accepted then, or kept at their last good version) claim their flows first, so an edit
 * that introduces a conflict is the one refused, never the file that was there before; among new
 * files the first by name wins.
 */
export function rejectLimitConflicts(
  outcomes: readonly FileOutcome[],
  lastGood: ReadonlyMap<string, CompiledSource> = new Map(),
): FileOutcome[] {
  // Serving already: the file's current version passed this check before (a reload reuses the
  // compiled source of an unchanged file), or its last good version stands in for a broken one.
  const established = (outcome: FileOutcome) =>
    outcome.kind === 'ready' && lastGood.get(outcome.file) === outcome.source;
  const claims = new Map<string, Claim>();
  const claim = (file: string, source: CompiledSource): string[] => {
    const problems: string[] = [];
    const mine: [string, Claim][] = [];
    for (const route of source.routes) {
      if (!route.limits) continue;
      const flow = JSON.stringify([route.orgId ?? null, route.flowId]);
      const earlier = claims.get(flow);
      if (earlier && earlier.file !== file && !sameLimits(earlier.limits, route.limits)) {
        const org = route.orgId === undefined ? 'the default org' : `org "${route.orgId}"`;
        problems.push(
          `${route.limits.declaredAt}: flow "${route.flowId}" (${org}) is limited to ${describeLimits(route.limits)} here but to ${describeLimits(earlier.limits)} in ${earlier.file} (${earlier.limits.declaredAt}); a flow has one budget: declare the same limits in both files, or in one only`,
        );
      } else if (!earlier) mine.push([flow, { limits: route.limits, file }]);
    }
    // A refused file claims nothing: its flows stay free for the files that do load.
    if (problems.length === 0) for (const [flow, entry] of mine) claims.set(flow, entry);
    return problems;
  };
  for (const outcome of outcomes) {
    const serving =
      outcome.kind === 'ready'
        ? established(outcome)
          ? outcome.source
          : undefined
        : lastGood.get(outcome.file);
    if (serving) claim(outcome.file, serving);
  }
  return outcomes.map((outcome) => {
    if (outcome.kind !== 'ready' || established(outcome)) return outcome;
    const problems = claim(outcome.file, outcome.source);
    if (problems.length === 0) return outcome;
    return {
      kind: 'invalid',
      file: outcome.file,
      name: outcome.source.name,
      problems: problems.map((message) => ({ file: outcome.file, message })),
      secrets: outcome.secrets,
      unsetVariables: outcome.unsetVariables,
    };
  });
}
