import { runDelivery, type RouteResult } from '../deliveries/run-delivery';
import type { DeliveryRecord, DeliveryState, StoredAnswer } from '../deliveries/types';
import type { FlowClient } from '../flows/create-flow-client';
import type { CompiledSource } from '../mappings/types';
import { acceptedAnswer, syncAnswer } from './answers';
import type { DeliveryTrace, PipelineDeps } from './handle-delivery';

/**
 * Runs a sync delivery (the source's replyWithin) for at most `deadline`: retries that fall due
 * before it happen here; when it passes during an attempt the sender is told 202 running (the
 * attempt goes on and its outcome is recorded), between attempts 202 queued (the worker takes
 * over). `stored` says whether the answer was already written with the outcome.
 */
export async function runWithinBudget(
  first: DeliveryRecord,
  source: CompiledSource,
  deps: PipelineDeps,
  trace: DeliveryTrace,
  deadline: number,
): Promise<{ answer: StoredAnswer; stored: boolean }> {
  const runDeps = {
    store: deps.store,
    client: deps.flowClient as FlowClient,
    policy: deps.policy,
    now: deps.now,
  };
  let record = first;
  // The name this request holds the delivery under (its lease owner, set when it was created).
  const holder = first.lease?.owner ?? deps.leases.processName;
  // Once the sender was told 202 running, a run that ends later must not store its own answer.
  let senderToldRunning = false;
  const answerFor = (done: DeliveryRecord, results: RouteResult[]) =>
    senderToldRunning ? undefined : syncAnswer(done, results, source);
  /** The sender is told the state now; the answer is not the run's, so it is not stored with it. */
  const answerWithState = (state: DeliveryState) => {
    trace.state = state;
    return { answer: acceptedAnswer(record.id, state), stored: false };
  };
  for (;;) {
    const run = runDelivery(record, runDeps, {
      holdUntil: deadline,
      owner: holder,
      leaseMs: deps.leases.leaseMs,
      answerFor,
    });
    let timer: NodeJS.Timeout | undefined;
    const deadlinePassed = new Promise<'deadline passed'>((resolve) => {
      timer = setTimeout(() => resolve('deadline passed'), Math.max(0, deadline - deps.now()));
    });
    // runDelivery catches the flow API's errors: what rejects here is the store, which could not
    // record the outcome. The delivery stays running under this lease; the worker resumes it.
    const outcome = await Promise.race([run, deadlinePassed])
      .catch((error: unknown) => {
        deps.onStoreFailure(record.id, error);
        return 'unrecorded' as const;
      })
      .finally(() => clearTimeout(timer));
    if (outcome === 'unrecorded') return answerWithState('running');
    if (outcome === 'deadline passed') {
      senderToldRunning = true;
      // The attempt finishes on its own; a retry it schedules is the worker's.
      deps.track(
        run
          .then(async ({ record: done, lost }) => {
            // Held for a retry nobody will wait for here: hand it to the worker (unless another
            // holder has it now).
            if (!lost && done.state === 'running') {
              await deps.store.update(done.id, { state: 'queued', lease: null }, { owner: holder });
            }
            deps.onQueued();
          })
          .catch((error: unknown) => deps.onStoreFailure(record.id, error)),
      );
      return answerWithState('running');
    }
    const { record: done, results, lost } = outcome;
    // This process's lease ran out during the call and another took the delivery over: the
    // attempt is recorded, but what happens next is the new holder's. Tell the sender that.
    if (lost) return answerWithState(done.state);
    trace.sessionId = results.map((r) => ('sessionId' in r ? r.sessionId : '-')).join(',');
    if (done.state === 'running' && done.nextAttemptAt !== null) {
      // Held for a retry inside the budget: wait for it, then run again.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, done.nextAttemptAt! - deps.now())),
      );
      record = done;
      continue;
    }
    trace.state = done.state;
    if (done.state === 'queued') deps.onQueued();
    // runDelivery stored this same answer in the commit that recorded the outcome.
    return {
      answer: done.answer ?? syncAnswer(done, results, source),
      stored: done.answer !== null,
    };
  }
}
