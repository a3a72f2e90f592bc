import { createHmac } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliveries/delivery-worker';
import { createLeases } from '../../src/deliveries/lease';
import type { DeliveryStore } from '../../src/deliveries/types';
import { createFlowClient, type FlowClient } from '../../src/flows/create-flow-client';
import { createApp } from '../../src/http/create-app';
import { loadMappings } from '../../src/mappings/load-mappings';
import { instrumentedStore } from '../../src/observability/instrumented-store';
import { createMetrics } from '../../src/observability/metrics';
import { FakeFlowApi } from '../support/fake-flow-api';
import {
  githubSignature,
  mappingsDir,
  memoryLogger,
  ORG,
  testStore,
  TOKEN,
} from '../support/harness';
import { until } from '../support/until';
import { parseMetrics, sample, seriesOf, type Sample } from './prometheus-text';

const SECRET = 'github-secret-for-metrics';
const STRIPE_SECRET = 'whsec_stripe_metrics_secret';
const MAILGUN_KEY = 'key-mailgun-metrics-signing-key';

const FILES = {
  'gh.yaml': `
source: gh
verify: { provider: github, secret: ${SECRET} }
mode: sync
replyWithin: 300ms
routes:
  - name: push
    when: [{ header: X-GitHub-Event, equals: push }]
    flow: flow-ok
    variables:
      message: { path: $.msg, required: true }
      who: $.who
      tags: { path: "$.tags[*]", all: true }
  - name: fail
    when: [{ header: X-GitHub-Event, equals: fail }]
    flow: flow-500
`,
  'queue.yaml': `
source: queue
verify: { provider: github, secret: ${SECRET} }
mode: async
routes:
  - name: retry
    flow: flow-retry
`,
  'st.yaml': `
source: st
verify: { provider: stripe, secret: ${STRIPE_SECRET} }
routes:
  - name: any
    flow: flow-ok
`,
  'mg.yaml': `
source: mg
verify: { provider: mailgun, secret: ${MAILGUN_KEY} }
routes:
  - name: any
    flow: flow-ok
`,
};

describe('GET /metrics after a scripted set of requests (issue 12)', () => {
  let api: FakeFlowApi;
  let app: Express;
  let store: DeliveryStore;
  let worker: DeliveryWorker;
  let client: FlowClient;
  const scrape = async (): Promise<Sample[]> => {
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(res.text);
  };
  let deliveries = 0;
  const github = (source: string, event: string, body: object, id = `d-${++deliveries}`) => {
    const text = JSON.stringify(body);
    return request(app)
      .post(`/hooks/${source}`)
      .set('Content-Type', 'application/json')
      .set('X-GitHub-Event', event)
      .set('X-GitHub-Delivery', id)
      .set('X-Hub-Signature-256', githubSignature(SECRET, text))
      .send(text);
  };

  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    const metrics = createMetrics();
    store = instrumentedStore(testStore(), metrics);
    const mappings = loadMappings(mappingsDir(FILES), {});
    expect(mappings.errors).toEqual([]);
    const logs = memoryLogger();
    client = createFlowClient({ baseUrl: api.url, token: TOKEN, timeoutMs: 2000 });
    const leases = createLeases({ flowTimeoutMs: 2000 });
    app = createApp({
      config: { bodyLimit: 1024 * 1024, flowOrgId: ORG, dryRun: false, flowApiToken: TOKEN },
      logger: logs.logger,
      mappings: () => mappings,
      flowClient: client,
      store,
      leases,
      metrics,
      onQueued: () => worker.notify(),
      env: {},
    });
    worker = createDeliveryWorker({
      store,
      client,
      // Two attempts: the second failure of a flow that keeps failing makes it dead.
      policy: { maxAttempts: 2, maxAgeMs: 60_000, baseDelayMs: 20, maxDelayMs: 40 },
      logger: logs.logger,
      concurrency: 4,
      pollMs: 20,
      leases,
      metrics,
    });
    worker.start();
  });

  afterAll(async () => {
    await worker.stop(1000);
    client.close();
    await store.close();
    await api.stop();
  });

  it('each counter has exactly the expected value, histograms the expected counts', async () => {
    api.answerFlow('flow-500', { kind: 'answer', status: 500, body: { error: 'boom' } });
    // Retry-After keeps the retry away long enough to let the flow recover first.
    api.answerFlow('flow-retry', {
      kind: 'answer',
      status: 500,
      body: { error: 'not yet' },
      headers: { 'Retry-After': '1' },
    });

    // ok, then the same delivery again (a repeat: replayed, nothing runs).
    expect((await github('gh', 'push', { msg: 'hi' }, 'same')).status).toBe(200);
    expect((await github('gh', 'push', { msg: 'hi' }, 'same')).status).toBe(200);
    // 401: missing, malformed, mismatch.
    const body = JSON.stringify({ msg: 'x' });
    const unsigned = () =>
      request(app)
        .post('/hooks/gh')
        .set('Content-Type', 'application/json')
        .set('X-GitHub-Event', 'push');
    expect((await unsigned().send(body)).status).toBe(401);
    expect((await unsigned().set('X-Hub-Signature-256', 'nope').send(body)).status).toBe(401);
    expect(
      (
        await unsigned()
          .set('X-Hub-Signature-256', `sha256=${'0'.repeat(64)}`)
          .send(body)
      ).status,
    ).toBe(401);
    // 401 stale: a genuine Stripe signature, an hour old.
    const old = Math.floor(Date.now() / 1000) - 3600;
    const stripeBody = JSON.stringify({ id: 'evt_1', type: 'x' });
    const stripeSig = createHmac('sha256', STRIPE_SECRET)
      .update(`${old}.${stripeBody}`)
      .digest('hex');
    const stale = await request(app)
      .post('/hooks/st')
      .set('Content-Type', 'application/json')
      .set('Stripe-Signature', `t=${old},v1=${stripeSig}`)
      .send(stripeBody);
    expect(stale.status).toBe(401);
    // 401 replay: a Mailgun signature block used again with another body.
    const ts = String(Math.floor(Date.now() / 1000));
    const token = 'mailgun-token-0123456789abcdef0123456789abcdef';
    const signature = createHmac('sha256', MAILGUN_KEY)
      .update(ts + token)
      .digest('hex');
    const mailgun = (event: string) =>
      request(app)
        .post('/hooks/mg')
        .set('Content-Type', 'application/json')
        .send(
          JSON.stringify({
            signature: { timestamp: ts, token, signature },
            'event-data': { id: event },
          }),
        );
    expect((await mailgun('first')).status).toBe(200);
    expect((await mailgun('second')).status).toBe(401);
    // 422: the required variable is missing.
    expect((await github('gh', 'push', { other: 1 })).status).toBe(422);
    // ignored: no route matches.
    expect((await github('gh', 'issues', {})).status).toBe(202);
    // upstream 500: kept (202) and retried by the worker until dead (two attempts).
    expect((await github('gh', 'fail', {})).status).toBe(202);
    // async, the first attempt fails (500), the retry succeeds.
    expect((await github('queue', 'push', {})).status).toBe(202);
    // an unknown source: counted under `unknown`, whatever the URL said.
    expect((await request(app).post('/hooks/no-such-source').send('{}')).status).toBe(404);

    await until(() => api.callsOf('flow-retry').length === 1, 5000, 'the first async attempt');
    api.answerFlow('flow-retry', undefined);
    await until(
      async () => {
        const counts = await store.counts();
        return counts.dead === 1 && counts.succeeded === 3 && counts.queued + counts.running === 0;
      },
      10_000,
      'the dead delivery and the retried one',
    );
    // A write is visible to readers at its commit, before its fsync resolves it: the run counts
    // its outcome only then. Wait for the counters too, not only the rows.
    await until(
      async () => {
        const now = await scrape();
        const done = (source: string, o: string) =>
          sample(now, 'flowhook_deliveries_total', { source, outcome: o }) === 1;
        return done('gh', 'dead') && done('queue', 'succeeded');
      },
      10_000,
      'the outcomes counted',
    );

    const m = await scrape();
    const requests = (source: string, status: string, code: string) =>
      sample(m, 'flowhook_requests_total', { source, status, code });
    expect(requests('gh', '200', 'ok')).toBe(2);
    expect(requests('gh', '401', 'invalid_signature')).toBe(3);
    expect(requests('st', '401', 'invalid_signature')).toBe(1);
    expect(requests('mg', '200', 'ok')).toBe(1);
    expect(requests('mg', '401', 'invalid_signature')).toBe(1);
    expect(requests('gh', '422', 'missing_variables')).toBe(1);
    expect(requests('gh', '202', 'ok')).toBe(2);
    expect(requests('queue', '202', 'ok')).toBe(1);
    expect(requests('unknown', '404', 'unknown_source')).toBe(1);
    expect(sum(m, 'flowhook_requests_total')).toBe(13);

    const failures = (source: string, reason: string) =>
      sample(m, 'flowhook_verification_failures_total', { source, reason });
    expect(failures('gh', 'missing')).toBe(1);
    expect(failures('gh', 'malformed')).toBe(1);
    expect(failures('gh', 'mismatch')).toBe(1);
    expect(failures('st', 'stale')).toBe(1);
    expect(failures('mg', 'replay')).toBe(1);
    expect(sum(m, 'flowhook_verification_failures_total')).toBe(5);

    const outcome = (source: string, o: string) =>
      sample(m, 'flowhook_deliveries_total', { source, outcome: o });
    expect(outcome('gh', 'succeeded')).toBe(1);
    expect(outcome('gh', 'replayed')).toBe(1);
    expect(outcome('gh', 'failed')).toBe(1);
    expect(outcome('gh', 'ignored')).toBe(1);
    expect(outcome('gh', 'queued')).toBe(1);
    expect(outcome('gh', 'dead')).toBe(1);
    expect(outcome('mg', 'succeeded')).toBe(1);
    expect(outcome('queue', 'queued')).toBe(1);
    expect(outcome('queue', 'succeeded')).toBe(1);
    expect(sum(m, 'flowhook_deliveries_total')).toBe(9);

    const executions = (source: string, route: string, flow: string, o: string) =>
      sample(m, 'flowhook_executions_total', { source, route, flow, outcome: o });
    expect(executions('gh', 'push', 'flow-ok', 'ok')).toBe(1);
    expect(executions('mg', 'any', 'flow-ok', 'ok')).toBe(1);
    expect(executions('gh', 'fail', 'flow-500', 'http_5xx')).toBe(2);
    expect(executions('queue', 'retry', 'flow-retry', 'http_5xx')).toBe(1);
    expect(executions('queue', 'retry', 'flow-retry', 'ok')).toBe(1);
    expect(sum(m, 'flowhook_executions_total')).toBe(6);
    expect(api.requests).toHaveLength(6);

    expect(sample(m, 'flowhook_retries_total', { source: 'gh', flow: 'flow-500' })).toBe(1);
    expect(sample(m, 'flowhook_retries_total', { source: 'queue', flow: 'flow-retry' })).toBe(1);
    expect(sum(m, 'flowhook_retries_total')).toBe(2);

    const executeCount = (flow: string, o: string) =>
      sample(m, 'flowhook_execute_duration_seconds_count', { flow, outcome: o });
    expect(executeCount('flow-ok', 'ok')).toBe(2);
    expect(executeCount('flow-500', 'http_5xx')).toBe(2);
    expect(executeCount('flow-retry', 'http_5xx')).toBe(1);
    expect(executeCount('flow-retry', 'ok')).toBe(1);
    // Every request to a known source is timed under its mode; 401s and 404s too.
    expect(
      sample(m, 'flowhook_request_duration_seconds_count', { source: 'gh', mode: 'sync' }),
    ).toBe(8);
    expect(
      sample(m, 'flowhook_request_duration_seconds_count', { source: 'queue', mode: 'async' }),
    ).toBe(1);
    expect(
      sample(m, 'flowhook_request_duration_seconds_count', { source: 'unknown', mode: 'unknown' }),
    ).toBe(1);
    // One create per verified request (the repeat's create finds the first and stores nothing).
    expect(sample(m, 'flowhook_store_write_duration_seconds_count', { op: 'create' })).toBe(7);
    expect(
      sample(m, 'flowhook_store_write_duration_seconds_count', { op: 'update' }),
    ).toBeGreaterThan(0);
    expect(
      sample(m, 'flowhook_store_write_duration_seconds_count', { op: 'claimDue' }),
    ).toBeGreaterThan(0);

    expect(sample(m, 'flowhook_queue_depth', { state: 'queued' })).toBe(0);
    expect(sample(m, 'flowhook_queue_depth', { state: 'running' })).toBe(0);
    expect(sample(m, 'flowhook_queue_depth', { state: 'dead' })).toBe(1);
    expect(sample(m, 'flowhook_queue_oldest_age_seconds')).toBe(0);
    expect(sample(m, 'flowhook_mappings_loaded')).toBe(4);
    expect(sample(m, 'flowhook_mappings_reload_timestamp_seconds')).toBeGreaterThan(0);
    expect(m.filter((s) => s.name === 'flowhook_mapping_errors')).toEqual([]);
    expect(sample(m, 'flowhook_ready')).toBe(1);
    // prom-client's process metrics.
    expect(sample(m, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('a payload with 10,000 distinct values in the fields the mapping reads adds no label value', async () => {
    const before = seriesOf(await scrape(), 'flowhook_');
    const values = Array.from({ length: 10_000 }, (_, i) => `value-${i}-${i * 7919}`);
    const res = await github('gh', 'push', { msg: values[0], who: values[1], tags: values });
    expect(res.status).toBe(200);
    for (let i = 0; i < 20; i++) {
      const r = await github(`gh`, 'push', { msg: values[i], who: values[9999 - i] });
      expect(r.status).toBe(200);
    }
    const after = await scrape();
    expect(seriesOf(after, 'flowhook_')).toEqual(before);
    const labelValues = new Set(after.flatMap((s) => Object.values(s.labels)));
    expect(values.filter((v) => labelValues.has(v))).toEqual([]);
    expect(
      sample(after, 'flowhook_executions_total', {
        source: 'gh',
        route: 'push',
        flow: 'flow-ok',
        outcome: 'ok',
      }),
    ).toBe(22);
  });
});

function sum(samples: readonly Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((total, s) => total + s.value, 0);
}
