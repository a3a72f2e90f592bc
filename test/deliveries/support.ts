import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  Attempt,
  CreateResult,
  DeliveryRecord,
  DeliveryStore,
  NewDelivery,
} from '../../src/deliveries/types';

/** A fresh folder for one test's database; removed by `cleanup`. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-store-'));
}

export function cleanup(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

let counter = 0;

/** A complete new delivery; `overrides` replace top-level fields. */
export function newDelivery(overrides: Partial<NewDelivery> = {}): NewDelivery {
  counter += 1;
  const body = Buffer.from(JSON.stringify({ n: counter }));
  return {
    id: `d-${String(counter).padStart(6, '0')}`,
    source: 'github',
    idempotencyKey: null,
    mode: 'async',
    state: 'queued',
    receivedAt: 1_700_000_000_000 + counter,
    mappingVersion: 'sha256:abc',
    request: {
      method: 'POST',
      url: '/hooks/github',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push' },
      bodyBase64: body.toString('base64'),
      bodyBytes: body.length,
      bodyTruncated: false,
    },
    routes: [{ route: 'push', flowId: 'flow-1', orgId: 'org-1', variables: { ref: 'main' } }],
    ...overrides,
  };
}

/** The record of a delivery that create() stored (fails the test on a repeat). */
export async function created(result: Promise<CreateResult>): Promise<DeliveryRecord> {
  const settled = await result;
  if (!settled.created) throw new Error(`expected a new delivery, got ${settled.existing.id}`);
  return settled.record;
}

/** A stored delivery (fails the test when it is not there). */
export async function mustGet(store: DeliveryStore, id: string): Promise<DeliveryRecord> {
  const record = await store.get(id);
  if (!record) throw new Error(`delivery ${id} not found`);
  return record;
}

let attemptCounter = 0;

/** An attempt as a caller hands it to update (unnumbered); `overrides` replace fields. */
export function attempt(overrides: Partial<Omit<Attempt, 'number'>> = {}): Omit<Attempt, 'number'> {
  attemptCounter += 1;
  return {
    startedAt: 1_000 * attemptCounter,
    durationMs: attemptCounter,
    route: 'push',
    flowId: 'flow-1',
    outcome: 'failed',
    httpStatus: 503,
    ...overrides,
  };
}
