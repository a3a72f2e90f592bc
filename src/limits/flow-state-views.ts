import { freshState, type StateRow } from './limit-rows';
import type { FlowStateView } from './types';

/**
 * Every flow's state as the admin API shows it, from the stored rows and the unexpired slots
 * per flow: a flow with running slots but no row yet is shown fresh.
 */
export function flowStateViews(
  rows: readonly StateRow[],
  running: ReadonlyMap<string, number>,
  now: number,
): FlowStateView[] {
  const known = new Set(rows.map((r) => r.flow));
  const all = [...rows, ...[...running.keys()].filter((f) => !known.has(f)).map(freshState)];
  return all.map((row) => ({
    flow: row.flow,
    circuit: row.circuit,
    circuitChangedAt: row.changed_at,
    openUntil: row.circuit === 'open' ? row.open_until : null,
    blockedUntil: (row.blocked_until ?? 0) > now ? row.blocked_until : null,
    running: running.get(row.flow) ?? 0,
    tokens: row.tokens,
    windowCalls: row.window_calls,
    windowFailures: row.window_failures,
  }));
}
