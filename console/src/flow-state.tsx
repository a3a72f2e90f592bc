import { when } from './api';

/** One flow's entry of GET /api/limits. */
export interface FlowLimitsView {
  flow: string;
  paused: boolean;
  circuit: 'closed' | 'open' | 'half-open';
  openUntil: string | null;
  throttledUntil: string | null;
  running: number;
}

/** The name a flow's state is kept under (src/limits/flow-key.ts): org and flow, URL-encoded. */
export const flowKey = (orgId: string, flowId: string) =>
  `${encodeURIComponent(orgId)}/${encodeURIComponent(flowId)}`;

/** What holds a flow back now, if anything: paused, its circuit, a 429 block. */
export function FlowState(props: { state: FlowLimitsView | undefined }) {
  const { state } = props;
  if (!state) return null;
  return (
    <>
      {state.paused && <span class="state state-queued">paused</span>}
      {state.circuit === 'open' && (
        <span class="state state-failed">circuit open until {when(state.openUntil)}</span>
      )}
      {state.circuit === 'half-open' && (
        <span class="state state-queued">circuit half-open (one probe)</span>
      )}
      {state.throttledUntil !== null && (
        <span class="state state-queued">throttled until {when(state.throttledUntil)}</span>
      )}
    </>
  );
}
