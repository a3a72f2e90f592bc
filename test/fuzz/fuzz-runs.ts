/**
 * How many generated cases a property or the hostile-request fuzz runs: `short` in `npm test`,
 * FUZZ_SCALE times more under `npm run fuzz` (FUZZ_SCALE=10 there).
 */
export function fuzzRuns(short: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? '1');
  return Math.max(1, Math.round(short * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}
