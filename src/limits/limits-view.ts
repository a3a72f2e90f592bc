import { describeRate } from './compile-limits';
import type { FlowLimits } from './types';

/** Limits as the admin API shows them: `{concurrency: 5, rate: "50/s"}`, null where unset. */
export function limitsView(limits: FlowLimits) {
  return {
    concurrency: limits.concurrency ?? null,
    rate: limits.rate ? describeRate(limits.rate) : null,
  };
}
