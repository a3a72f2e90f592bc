import type { DeliveryRecord } from '../deliveries/types';
import { acceptedAnswer } from './answers';
import type { DeliveryAnswer, PipelineDeps } from './handle-delivery';

/**
 * A repeat (same idempotency key within the window): the first request's answer, once it has one
 * (a sync first request may still be running; a repeat waits up to replayWaitMs, then is told
 * the state).
 */
export async function answerRepeat(
  existing: DeliveryRecord,
  deps: PipelineDeps,
): Promise<DeliveryAnswer> {
  const headers = { 'Idempotent-Replayed': 'true' };
  const deadline = deps.now() + deps.replayWaitMs;
  let current: DeliveryRecord | undefined = existing;
  while (current && current.answer === null && deps.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    current = await deps.store.get(existing.id);
  }
  if (current?.answer) return { status: current.answer.status, body: current.answer.body, headers };
  return { ...acceptedAnswer(existing.id, current?.state ?? existing.state), headers };
}
