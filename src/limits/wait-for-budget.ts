import type { DeliveryRecord } from '../deliveries/types';
import type { FlowLimiter } from './create-flow-limiter';
import type { BudgetDecision } from './types';

/**
 * A sync delivery's budget: asks the limiter, and while the answer is "wait until T" with T before
 * the sender's deadline, waits and asks again. Returns the grant, or the refusal whose time falls
 * past the deadline (the caller then queues the delivery for the worker).
 */
export async function waitForBudget(
  limiter: FlowLimiter,
  record: Pick<DeliveryRecord, 'id' | 'source' | 'routes'>,
  holder: string,
  deadline: number,
  leaseMs: number,
  now: () => number,
): Promise<BudgetDecision> {
  for (;;) {
    const decision = await limiter.acquire(record, holder, now() + leaseMs);
    if (decision.granted || decision.retryAt >= deadline) return decision;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, decision.retryAt - now())));
  }
}
