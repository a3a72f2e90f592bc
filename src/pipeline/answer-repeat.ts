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
  if (current?.answer) {
    // A respond: template's answer is sent exactly as the first request got it (content type and
    // headers too, issue 16); flowhook's own JSON says it is a repeat in its body (issue 10).
    const { status, body, contentType } = current.answer;
    if (contentType !== undefined) {
      return { status, body, contentType, headers: { ...current.answer.headers, ...headers } };
    }
    return { status, body: markReplayed(body), headers: { ...current.answer.headers, ...headers } };
  }
  const accepted = acceptedAnswer(existing.id, current?.state ?? existing.state);
  return { ...accepted, body: markReplayed(accepted.body), headers };
}

/**
 * A JSON answer says it is a repeat in its body too (`"replayed": true`), not only in the header,
 * which `curl -s` hides: a sender who resends a fixed id must not think the flow ran again
 * (issue 10). Text answers are sent as they were.
 */
function markReplayed(body: unknown): unknown {
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    ? { ...body, replayed: true }
    : body;
}
