import request from 'supertest';
import { startServer, type RunningServer } from '../../src/server';
import type { FakeFlowApi, RecordedRequest } from '../support/fake-flow-api';
import { mappingsDir, memoryLogger, tempFolder } from '../support/harness';

export const ADMIN = 'admin-token-0123456789';

/**
 * A source (async by default) whose one route executes `flow` in FLOW_ORG_ID's org, with `limits`.
 * Its own request rate limit is off: the tests send hundreds from one address (issue 9, item 4).
 */
export function asyncSource(flow: string, limits = '', mode = 'async'): string {
  return `
mode: ${mode}
verify: { provider: token, header: X-Token, secret: tok }
rateLimit: off
routes:
  - name: r
    flow: ${flow}
    variables: { n: $.n }
${limits === '' ? '' : `    limits: ${limits}`}
`;
}

export interface Flowhook {
  readonly running: RunningServer;
  readonly url: string;
  readonly logs: ReturnType<typeof memoryLogger>;
  readonly dataDir: string;
}

/** The real server (worker, limits, admin API) on a fresh or given DATA_DIR. */
export async function startFlowhook(options: {
  api: FakeFlowApi;
  files: Record<string, string>;
  env?: Record<string, string>;
  dataDir?: string;
  mappings?: string;
}): Promise<Flowhook> {
  const dataDir = options.dataDir ?? tempFolder('flowhook-limits-');
  const logs = memoryLogger();
  const running = await startServer(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      MAPPINGS_DIR: options.mappings ?? mappingsDir(options.files),
      DATA_DIR: dataDir,
      FLOW_BASE_URL: options.api.url,
      FLOW_ORG_ID: 'org-1',
      FLOW_API_TOKEN: 'token-1',
      FLOW_TIMEOUT: '2s',
      MAPPINGS_WATCH: 'off',
      ADMIN_TOKEN: ADMIN,
      ...options.env,
    },
    logs.logger,
  );
  return { running, url: `http://127.0.0.1:${running.port}`, logs, dataDir };
}

/** POSTs deliveries numbered `from`… to a source, `parallel` at a time; returns the answers. */
export async function send(
  flowhook: Flowhook,
  source: string,
  count: number,
  from = 0,
  parallel = 20,
): Promise<request.Response[]> {
  const answers: request.Response[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - i) }, (_, j) =>
      request(flowhook.url)
        .post(`/hooks/${source}`)
        .set('X-Token', 'tok')
        .type('json')
        .send(JSON.stringify({ n: from + i + j })),
    );
    answers.push(...(await Promise.all(batch)));
  }
  return answers;
}

/** The admin API of a running flowhook. */
export function admin(flowhook: Flowhook, method: 'get' | 'post', url: string) {
  return request(flowhook.url)[method](url).set('Authorization', `Bearer ${ADMIN}`);
}

/** How many deliveries of a source are in a state (admin API). */
export async function countIn(flowhook: Flowhook, source: string, state: string): Promise<number> {
  const res = await admin(
    flowhook,
    'get',
    `/api/deliveries?source=${source}&status=${state}&limit=500`,
  );
  return (res.body as { items: unknown[] }).items.length;
}

/** The most calls that were in flight at once (by the fake flow API's receive and answer times). */
export function maxOverlap(calls: readonly RecordedRequest[]): number {
  const events = calls.flatMap((c) => [
    { at: c.receivedAt, step: 1 },
    { at: c.answeredAt ?? Infinity, step: -1 },
  ]);
  // An answer and a call in the same millisecond: the answer first (the slot was given back).
  events.sort((a, b) => a.at - b.at || a.step - b.step);
  let now = 0;
  let most = 0;
  for (const e of events) {
    now += e.step;
    most = Math.max(most, now);
  }
  return most;
}
