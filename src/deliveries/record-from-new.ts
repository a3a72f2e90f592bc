import type { DeliveryRecord, NewDelivery } from './types';

/**
 * A created delivery's record, as both stores answer create(): built from what was written
 * rather than read back, so the body is not decoded again.
 */
export function recordFromNew(delivery: NewDelivery, updatedAt: number): DeliveryRecord {
  return {
    ...delivery,
    updatedAt,
    answer: delivery.answer ?? null,
    attempts: [],
    nextAttemptAt: delivery.nextAttemptAt ?? null,
    lease: delivery.lease ?? null,
    lastError: delivery.lastError ?? null,
    lateAnswer: null,
  };
}
