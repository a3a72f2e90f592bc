import { parseBody } from '../body/parse-body';
import type { RouteResult } from '../deliveries/run-delivery';
import type {
  ClaimedDelivery,
  DeliveryRecord,
  DeliveryStore,
  LateAnswer,
  StoredRequest,
} from '../deliveries/types';
import type { Logger } from '../logger';
import type { CompiledSource, MappingSet } from '../mappings/types';
import { answerContext } from './answer-context';
import { postLateAnswer, type LateAnswerPostOptions } from './post-late-answer';
import { responseUrlAllowed } from './response-url-allowed';

export interface LateAnswerDeps {
  readonly store: DeliveryStore;
  readonly mappings: () => MappingSet;
  /** RESPONSE_URL_ALLOW, as origins. */
  readonly allow: readonly string[];
  readonly logger: Logger;
  readonly now: () => number;
  readonly post?: LateAnswerPostOptions;
}

export interface LateAnswers {
  /**
   * The sender of a source with late answers was told `running` or `queued`: records whether the
   * final outcome will be POSTed to its response_url (pending), or why not (refused). Returns the
   * record's late answer.
   */
  promise(deliveryId: string, source: CompiledSource, body: unknown): Promise<LateAnswer | null>;
  /**
   * The delivery reached a final state: POSTs its outcome when one is pending, and records it.
   * A worker's claim has no request: its body is read from the store.
   */
  deliver(record: FinishedDelivery, results: readonly RouteResult[]): Promise<void>;
}

/** A delivery that ended: a whole record (sync), or the worker's claim, without its request. */
export type FinishedDelivery = ClaimedDelivery & { readonly request?: StoredRequest };

/** Slack: a slash command's response_url (a form field), or an interaction's (in `payload`). */
function responseUrlOf(body: unknown): unknown {
  const fields = body as { response_url?: unknown; payload?: { response_url?: unknown } } | null;
  return fields?.response_url ?? fields?.payload?.response_url;
}

export function createLateAnswers(deps: LateAnswerDeps): LateAnswers {
  const record = async (id: string, lateAnswer: LateAnswer) => {
    await deps.store.update(id, { lateAnswer });
    return lateAnswer;
  };
  return {
    async promise(deliveryId, source, body) {
      if (!source.respond?.lateAnswers) return null;
      const allowed = responseUrlAllowed(responseUrlOf(body), deps.allow);
      if (!allowed.ok) {
        deps.logger.warn(
          { deliveryId, source: source.name, reason: allowed.reason },
          'no late answer: the response_url is not allowed',
        );
        return record(deliveryId, { state: 'refused', attempts: 0, reason: allowed.reason });
      }
      return record(deliveryId, { state: 'pending', origin: allowed.url.origin, attempts: 0 });
    },

    async deliver(finished, results) {
      const source = deps.mappings().sources.get(finished.source);
      if (!source?.respond?.lateAnswers && finished.lateAnswer?.state !== 'pending') return;
      // The worker's copy was read when it claimed the delivery, without its request: the
      // promise may be newer, and the body is in the store.
      let delivery: FinishedDelivery & { readonly request: StoredRequest };
      if (finished.lateAnswer?.state === 'pending' && finished.request !== undefined) {
        delivery = { ...finished, request: finished.request };
      } else {
        const stored = await deps.store.get(finished.id);
        if (stored === undefined) {
          deps.logger.warn(
            { deliveryId: finished.id, source: finished.source },
            'no late answer: the delivery is no longer stored (pruned)',
          );
          return;
        }
        if (stored.lateAnswer?.state !== 'pending') return;
        delivery = { ...finished, request: stored.request, lateAnswer: stored.lateAnswer };
      }
      const give = (reason: string, extra: Partial<LateAnswer> = {}) =>
        record(delivery.id, {
          state: 'failed',
          origin: delivery.lateAnswer?.origin,
          attempts: 0,
          reason,
          at: deps.now(),
          ...extra,
        });
      if (!source?.respond) {
        await give('the source no longer answers with respond: (reloaded)');
        return;
      }
      // The body as the first request read it: the stored bytes, parsed the same way.
      const body = parseBody(
        Buffer.from(delivery.request.bodyBase64, 'base64'),
        delivery.request.headers['content-type'],
        source.jsonFields,
      );
      const allowed = responseUrlAllowed(responseUrlOf(body), deps.allow);
      if (!allowed.ok) {
        await record(delivery.id, { state: 'refused', attempts: 0, reason: allowed.reason });
        return;
      }
      const ok = delivery.state === 'succeeded';
      const error = ok ? undefined : failureMessage(delivery, results);
      const answer = source.respond.render(
        ok ? 'ok' : 'failed',
        answerContext(delivery.id, body, delivery, results, error),
        ok ? 200 : 502,
      );
      if (answer === undefined) {
        await give(`respond: has no ${ok ? 'ok' : 'failed'} answer`);
        return;
      }
      const posted = await postLateAnswer(allowed.url, answer, deps.post);
      const line = { deliveryId: delivery.id, origin: allowed.url.origin, ...posted };
      if (posted.sent) deps.logger.info(line, 'late answer sent to the response_url');
      else deps.logger.warn(line, 'late answer could not be sent to the response_url');
      await record(delivery.id, {
        state: posted.sent ? 'sent' : 'failed',
        origin: allowed.url.origin,
        attempts: posted.attempts,
        ...(posted.httpStatus === undefined ? {} : { httpStatus: posted.httpStatus }),
        ...(posted.reason === undefined ? {} : { reason: posted.reason }),
        at: deps.now(),
      });
    },
  };
}

/** flowhook's own words for a failed or dead delivery (never the platform's body). */
export function failureMessage(
  delivery: Pick<DeliveryRecord, 'state' | 'lastError'>,
  results: readonly RouteResult[],
): string {
  const failed = results.filter((r): r is Extract<RouteResult, { error: unknown }> => 'error' in r);
  const last = failed.length === 1 ? failed[0].error.message : undefined;
  const message =
    failed.length > 1
      ? `${failed.length} of ${results.length} executions failed: ${failed.map((r) => r.route).join(', ')}`
      : (last ?? delivery.lastError?.message ?? 'the flow did not run');
  return delivery.state === 'dead' ? `retries ran out: ${message}` : message;
}
