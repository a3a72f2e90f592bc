import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildOnce, startFlowhook, type FlowhookProcess } from '../support/flowhook-process';
import { mappingsDir, TOKEN } from '../support/harness';
import { until } from '../support/until';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver';

const FILES = {
  'now.yaml': `
source: now
verify: { provider: github, secret: tracing-secret-value }
mode: sync
routes:
  - name: run
    flow: flow-sync
    variables: { marker: $.marker }
`,
  'later.yaml': `
source: later
verify: { provider: github, secret: tracing-secret-value }
mode: async
routes:
  - name: run
    flow: flow-async
    variables: { marker: $.marker }
`,
};
const SYNC_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const ASYNC_TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = '00f067aa0ba902b7';
const MARKER = 'body-value-that-must-never-be-in-a-span';

/**
 * Traces end to end (issue 12): `flowhook serve` in a child process (the SDK sets process-wide
 * globals, and its exporter loads modules in a way jest's sandbox does not allow), started with
 * the standard OTEL_* variables pointing at a real OTLP/HTTP receiver (http/json), with a real
 * fake flow API; a sync delivery, and an async one whose first two attempts fail.
 */
describe('tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let receiver: OtlpReceiver;
  let api: FakeFlowApi;
  let server: FlowhookProcess | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-tracing-'));
  const mappings = mappingsDir(FILES);
  const start = (extra: Record<string, string> = {}) =>
    startFlowhook({
      MAPPINGS_DIR: mappings,
      MAPPINGS_WATCH: 'off',
      DATA_DIR: dataDir,
      FLOW_BASE_URL: api.url,
      FLOW_ORG_ID: 'org-1',
      FLOW_API_TOKEN: TOKEN,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'flowhook-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      ...extra,
    });

  beforeAll(async () => {
    buildOnce();
    receiver = await new OtlpReceiver().start();
    api = await new FakeFlowApi().start();
    server = await start();
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await api.stop();
    await receiver.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(mappings, { recursive: true, force: true });
  });

  const send = async (source: string, traceId: string, id: string) => {
    const body = JSON.stringify({ marker: MARKER });
    return fetch(`${server!.url}/hooks/${source}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': id,
        'x-hub-signature-256': `sha256=${createHmac('sha256', 'tracing-secret-value').update(body).digest('hex')}`,
        traceparent: `00-${traceId}-${PARENT}-01`,
      },
      body,
    });
  };

  it('a sync delivery and an async one retried twice each make one trace, the sender’s', async () => {
    api.answerFlow('flow-async', { kind: 'answer', status: 500, body: { error: 'flow busy' } });
    const sync = await send('now', SYNC_TRACE, 'gh-sync-1');
    expect(sync.status).toBe(200);
    const asyncAnswer = await send('later', ASYNC_TRACE, 'gh-async-1');
    expect(asyncAnswer.status).toBe(202);
    const asyncId = ((await asyncAnswer.json()) as { deliveryId: string }).deliveryId;
    await until(() => api.callsOf('flow-async').length >= 2, 10_000, 'two failed async attempts');
    api.answerFlow('flow-async', undefined);
    const executes = (traceId: string) =>
      receiver.ofTrace(traceId).filter((s) => s.name === 'flowhook.execute');
    await until(
      () => executes(ASYNC_TRACE).length === 3 && executes(SYNC_TRACE).length === 1,
      15_000,
      'the execute spans of both deliveries at the receiver',
    );
    expect(api.callsOf('flow-async')).toHaveLength(3);

    // Sync: receive (child of the sender's span), its stages, the store writes, one execute.
    const syncSpans = receiver.ofTrace(SYNC_TRACE);
    const receive = only(syncSpans, 'POST /hooks/:source');
    expect(receive.parentSpanId).toBe(PARENT);
    expect(receive.kind).toBe(2); // SERVER
    expect(receive.service).toBe('flowhook-under-test');
    expect(receive.attributes).toMatchObject({
      'flowhook.source': 'now',
      'flowhook.provider_delivery_id': 'gh-sync-1',
      'flowhook.route': 'run',
      'flowhook.flow': 'flow-sync',
      'flowhook.session_id': 'session-1',
      'http.response.status_code': 200,
    });
    for (const name of ['flowhook.verify', 'flowhook.parse', 'flowhook.match', 'store.create']) {
      expect(only(syncSpans, name).parentSpanId).toBe(receive.spanId);
    }
    const syncExecute = only(syncSpans, 'flowhook.execute');
    expect(syncExecute.parentSpanId).toBe(receive.spanId);
    expect(syncExecute.kind).toBe(3); // CLIENT
    expect(syncExecute.attributes).toMatchObject({
      'flowhook.delivery_id': receive.attributes['flowhook.delivery_id'],
      'flowhook.attempt': 1,
      'flowhook.outcome': 'ok',
      'flowhook.session_id': 'session-1',
      'http.response.status_code': 200,
    });
    // The flow API got the execute span's traceparent.
    expect(api.callsOf('flow-sync')[0].headers.traceparent).toBe(
      `00-${SYNC_TRACE}-${syncExecute.spanId}-01`,
    );

    // Async: the receive span, then the worker's runs, each in the same trace with its attempt.
    const asyncSpans = receiver.ofTrace(ASYNC_TRACE);
    const asyncReceive = only(asyncSpans, 'POST /hooks/:source');
    expect(asyncReceive.parentSpanId).toBe(PARENT);
    expect(asyncReceive.attributes['flowhook.delivery_id']).toBe(asyncId);
    const runs = asyncSpans.filter((s) => s.name === 'flowhook.deliver');
    expect(runs).toHaveLength(3);
    for (const run of runs) {
      expect(run.parentSpanId).toBe(asyncReceive.spanId);
      expect(run.attributes['flowhook.delivery_id']).toBe(asyncId);
    }
    const attempts = executes(ASYNC_TRACE).sort(
      (a, b) => Number(a.attributes['flowhook.attempt']) - Number(b.attributes['flowhook.attempt']),
    );
    expect(
      attempts.map((s) => [s.attributes['flowhook.attempt'], s.attributes['flowhook.outcome']]),
    ).toEqual([
      [1, 'http_5xx'],
      [2, 'http_5xx'],
      [3, 'ok'],
    ]);
    expect(attempts[0].status.code).toBe(2); // ERROR
    for (const attempt of attempts) {
      expect(runs.map((r) => r.spanId)).toContain(attempt.parentSpanId);
    }
    const sent = api.callsOf('flow-async').map((call) => call.headers.traceparent);
    expect(sent).toEqual(attempts.map((s) => `00-${ASYNC_TRACE}-${s.spanId}-01`));

    // Never a secret, a token, a header value or the body in what was exported.
    const exported = receiver.bodies.join('\n');
    for (const secret of [TOKEN, 'tracing-secret-value', MARKER, 'sha256=']) {
      expect(exported).not.toContain(secret);
    }

    // Every log line of the traced deliveries carries its trace id.
    const lines = server!
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const asyncLines = lines.filter((l) => l.deliveryId === asyncId);
    expect(asyncLines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'hook request handled',
        'execute attempt failed',
        'delivery attempt finished',
      ]),
    );
    for (const line of asyncLines) expect(line.trace_id).toBe(ASYNC_TRACE);
    const failedLine = asyncLines.find((l) => l.msg === 'execute attempt failed');
    expect(failedLine).toMatchObject({
      level: 40,
      upstreamStatus: 500,
      upstreamError: 'flow busy',
    });
    const syncLine = lines.find((l) => l.msg === 'hook request handled' && l.source === 'now');
    expect(syncLine).toMatchObject({ trace_id: SYNC_TRACE, span_id: receive.spanId });
  });

  it('stopping the server sends the spans still waiting in the batch (SIGTERM)', async () => {
    await server?.stop();
    // A batch that would wait a minute: only the shutdown can have sent it.
    server = await start({ OTEL_BSP_SCHEDULE_DELAY: '60000' });
    const traceId = '11111111111111111111111111111111';
    expect((await send('now', traceId, 'gh-sync-2')).status).toBe(200);
    expect(receiver.ofTrace(traceId)).toEqual([]);
    await server.stop();
    server = undefined;
    expect(receiver.ofTrace(traceId).map((s) => s.name)).toContain('flowhook.execute');
  });
});

function only(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`${found.length} spans named ${name}`);
  return found[0];
}
