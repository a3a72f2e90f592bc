import v8 from 'node:v8';

/**
 * Keeps V8's optimizing compiler (TurboFan) from inlining the array builtins (`map`, `filter`,
 * `every`, `join`…) into the functions it compiles, for `serve` (issue 15).
 *
 * An inlined `map` makes an array of another elements kind (HOLEY) than the builtin does
 * (PACKED), so a function optimized with the builtin's arrays in its feedback is deoptimized
 * ("wrong map") as soon as an optimized caller or producer hands it one, then compiled again: a
 * fresh server's hot path (`runHeld`, `handleDelivery`, `runWithinBudget`: large async functions,
 * ~120 ms of compiling each time with the builtins inlined) was compiled 3 to 6 times each, on
 * the server's own core, during its first seconds under load. Without the inlining, a pinned
 * server's first 12 s held 2.0 s of compiling instead of 3.8 s and 32 deoptimizations instead
 * of 52, and the instructions per answer once warm were the same (docs/performance.md, "Warm-up").
 * A `--turbo-inline-array-builtins` given to node wins. Returns whether the flag was set.
 */
export function keepArrayBuiltinsOutOfLine(
  execArgv: readonly string[] = process.execArgv,
): boolean {
  if (execArgv.some((arg) => /^--(no-)?turbo[-_]inline[-_]array[-_]builtins\b/.test(arg))) {
    return false;
  }
  v8.setFlagsFromString('--no-turbo-inline-array-builtins');
  return true;
}
