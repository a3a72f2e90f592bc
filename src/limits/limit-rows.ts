import type { CircuitState } from './types';
import type { Complete } from '../deliveries/stored-columns';

/**
 * One flow's shared state as both limits stores keep it (table flow_states, the same columns in
 * SQLite and PostgreSQL), so the decisions are made by the same code on either.
 */
export interface StateRow {
  flow: string;
  tokens: number | null;
  refilled_at: number | null;
  park_until: number | null;
  avg_ms: number | null;
  blocked_until: number | null;
  throttles: number;
  circuit: CircuitState;
  changed_at: number | null;
  open_until: number | null;
  probe_until: number | null;
  window_start: number | null;
  window_calls: number;
  window_failures: number;
}

/** An org the platform may throttle as a whole (table org_states). */
export interface OrgRow {
  org: string;
  blocked_until: number | null;
  last_flow: string | null;
  last_until: number | null;
}

/** The columns of flow_states, in the order of the statements (SQLite: its raw rows). */
export const STATE_COLUMN_LIST = [
  'flow',
  'tokens',
  'refilled_at',
  'park_until',
  'avg_ms',
  'blocked_until',
  'throttles',
  'circuit',
  'changed_at',
  'open_until',
  'probe_until',
  'window_start',
  'window_calls',
  'window_failures',
] as const satisfies readonly (keyof StateRow)[];

export const STATE_COLUMNS = STATE_COLUMN_LIST.join(', ');

/** Compiles only when STATE_COLUMN_LIST names every column of StateRow. */
export type StateColumnsComplete = Complete<
  Exclude<keyof StateRow, (typeof STATE_COLUMN_LIST)[number]>
>;

/** A flow never limited, throttled or failed yet. */
export function freshState(flow: string): StateRow {
  return {
    flow,
    tokens: null,
    refilled_at: null,
    park_until: null,
    avg_ms: null,
    blocked_until: null,
    throttles: 0,
    circuit: 'closed',
    changed_at: null,
    open_until: null,
    probe_until: null,
    window_start: null,
    window_calls: 0,
    window_failures: 0,
  };
}

export function freshOrg(org: string): OrgRow {
  return { org, blocked_until: null, last_flow: null, last_until: null };
}
