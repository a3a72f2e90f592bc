import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NewDelivery } from '../../src/deliveries/types';

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
