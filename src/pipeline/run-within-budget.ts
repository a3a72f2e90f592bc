import { runDelivery, type RouteResult } from '../deliveries/run-delivery';
import {
  FINAL_STATES,
  type DeliveryState,
  type LateAnswer,
  type RunningDelivery,
  type StoredAnswer,
} from '../deliveries/types';
import type { FlowClient } from '../flows/create-flow-client';
import { waitForBudget } from '../limits/wait-for-budget';
import type { WaitReason } from '../limits/types';
import type { CompiledSource } from '../mappings/types';
import { answerContext } from '../responses/answer-context';
import { respondWith } from '../responses/respond-with';
import { acceptedAnswer, syncAnswer } from './answers';
import type { DeliveryTrace, PipelineDeps } from './handle-delivery';

/**
 * Runs a sync delivery (the source's replyWithin) for at most `deadline`: retries that fall due
 * before it happen here; when it passes during an attempt the sender is told 202 running (the
 * attempt goes on and its outcome is recorded), between attempts 202 queued (the worker takes
 * over). `stored` says whether the answer was already written with the outcome.
 */
export async function runWithinBudget(
  first: RunningDelivery,
  source: CompiledSource,
  deps: PipelineDeps,
  trace: DeliveryTrace,
  deadline: number,
  /** The parsed request body (respond: templates, the response_url of a late answer). */
  body: unknown,
): Promise<{ answer: StoredAnswer; stored: boolean }> {
  const runDeps = {
    store: deps.store,
    client: deps.flowClient as FlowClient,
    policy: deps.policy,
    now: deps.now,
    metrics: deps.metrics,
    logger: deps.logger,
    secrets: deps.secrets,
  };
  let record = first;
  // The name this request holds the delivery under (its lease owner, set when it was created).
  const holder = first.lease?.owner ?? deps.leases.processName;
  // Once the sender was told 202 running, a run that ends later must not store its own answer.
  let senderToldRunning = false;
  const answerFor = (done: RunningDelivery, results: RouteResult[]) =>
    senderToldRunning ? undefined : syncAnswer(done, results, source, body);
  /** The sender is told the state now; the answer is not the run's, so it is not stored with it. */
  const answerWithState = (state: DeliveryState) => {
    trace.state = state;
    const own = acceptedAnswer(record.id, state);
    const answer =
      state === 'running' || state === 'queued'
        ? respondWith(source, state, own, () => answerContext(record.id, body, record))
        : own;
    return { answer, stored: false };
  };
  /**
   * The sender is told running or queued: with late answers (respond: slack), record whether the
   * outcome will follow at its response_url. A store failure here costs the late answer only.
   */
  const promiseLateAnswer = (): Promise<LateAnswer | null> =>
    source.respond?.lateAnswers
      ? deps.lateAnswers.promise(record.id, source, body).catch((error: unknown) => {
          deps.onStoreFailure(record.id, error);
          return null;
        })
      : Promise.resolve(null);
  for (;;) {
    // The flow's limits, pause and circuit: wait for room until the deadline at most; past it
    // the delivery is queued for the worker, and the sender told so (nothing is refused).
    if (deps.limiter) {
      const budget = await waitForBudget(
        deps.limiter,
        record,
        holder,
        deadline,
        deps.leases.leaseMs,
        deps.now,
      );
      if (!budget.granted) {
        // Not written: the delivery stays running under this lease, and the worker takes it
        // back when the lease expires; the sender is told the same.
        await deps.store
          .update(
            record.id,
            { state: 'queued', lease: null, nextAttemptAt: budget.retryAt },
            { owner: holder },
          )
          .catch((error: unknown) => deps.onStoreFailure(record.id, error));
        deps.onQueued();
        trace.state = 'queued';
        return {
          answer: acceptedAnswer(record.id, 'queued', {
            reason: `${WAIT_REASONS[budget.reason]}; the delivery is kept and runs when there is room`,
            nextAttemptAt: new Date(budget.retryAt).toISOString(),
          }),
          stored: false,
        };
      }
    }
    const run = runDelivery(record, runDeps, {
      holdUntil: deadline,
      owner: holder,
      leaseMs: deps.leases.leaseMs,
      answerFor,
    });
    // The slots are this attempt's until it is recorded, whenever that is.
    const release = () => deps.limiter?.release(record.id, holder);
    void run.then(release, release);
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
      const promised = promiseLateAnswer();
      // The attempt finishes on its own; a retry it schedules is the worker's.
      deps.track(
        run
          .then(async ({ record: done, results, lost }) => {
            // Held for a retry nobody will wait for here: hand it to the worker (unless another
            // holder has it now).
            if (!lost && done.state === 'running') {
              await deps.store.update(done.id, { state: 'queued', lease: null }, { owner: holder });
            }
            deps.onQueued();
            // Ended here: the outcome goes to the response_url now (else the worker sends it).
            const lateAnswer = await promised;
            if (!lost && lateAnswer?.state === 'pending' && FINAL_STATES.includes(done.state)) {
              await deps.lateAnswers.deliver({ ...done, lateAnswer }, results);
            }
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
    if (done.state === 'queued') {
      // Recorded before the worker is woken: it sends the late answer when the retries end.
      await promiseLateAnswer();
      deps.onQueued();
    }
    // runDelivery stored this same answer in the commit that recorded the outcome.
    return {
      answer: done.answer ?? syncAnswer(done, results, source, body),
      stored: done.answer !== null,
    };
  }
}

/** Why a sync delivery waits, as its sender is told. */
const WAIT_REASONS: Readonly<Record<WaitReason, string>> = {
  source_paused: 'the source is paused',
  flow_paused: 'the flow is paused',
  circuit_open: "the flow's circuit is open (its recent calls failed)",
  throttled: 'the flow API throttled this flow (429)',
  org_throttled: 'the flow API throttled this org (429)',
  concurrency: 'the flow has as many executions running as its limits allow',
  rate: 'the flow reached its rate limit',
};
