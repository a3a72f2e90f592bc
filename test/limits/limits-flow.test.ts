import fs from 'node:fs';
import { FakeFlowApi } from '../support/fake-flow-api';
import { until } from '../support/until';
import { cli } from '../support/cli';
import {
  ADMIN,
  admin,
  asyncSource,
  countIn,
  maxOverlap,
  send,
  startFlowhook,
  type Flowhook,
} from './support';

// Issue 14: per-flow concurrency and rate, 429s, the circuit breaker, pause and resume, end to end:
// the real server (worker, limits store, admin API) and a fake flow API that records call times.
describe('flow limits through the worker (issue 14)', () => {
  let api: FakeFlowApi;
  let flowhook: Flowhook | undefined;
  beforeEach(async () => {
    api = await new FakeFlowApi().start();
  });
  afterEach(async () => {
    await flowhook?.running.close();
    if (flowhook) fs.rmSync(flowhook.dataDir, { recursive: true, force: true });
    flowhook = undefined;
    await api.stop();
  });

  it('concurrency 3: 200 deliveries never overlap beyond 3, while another flow keeps flowing', async () => {
    api.answerFlow('flow-a', { kind: 'slow', ms: 30 });
    flowhook = await startFlowhook({
      api,
      files: {
        'a.yaml': asyncSource('flow-a', '{ concurrency: 3 }'),
        'b.yaml': asyncSource('flow-b'),
      },
    });
    await send(flowhook, 'a', 200);
    // The other flow's deliveries arrive while flow-a's backlog is being worked through.
    const sentB: number[] = [];
    for (let i = 0; i < 10; i++) {
      await until(() => api.callsOf('flow-a').length >= 20 * (i + 1), 30_000, 'flow-a progress');
      sentB.push(Date.now());
      await send(flowhook, 'b', 1, i);
    }
    await until(async () => (await countIn(flowhook!, 'a', 'succeeded')) === 200, 60_000, 'a done');
    await until(async () => (await countIn(flowhook!, 'b', 'succeeded')) === 10, 10_000, 'b done');
    expect(api.callsOf('flow-a')).toHaveLength(200);
    expect(maxOverlap(api.callsOf('flow-a'))).toBeLessThanOrEqual(3);
    expect(maxOverlap(api.callsOf('flow-a'))).toBe(3); // the budget is used, not just respected
    // flow-b waited for nobody: the median of its waits (sent → called) is under a second.
    const waits = api
      .callsOf('flow-b')
      .map((call) => call.receivedAt - sentB[(call.body as { n: number }).n])
      .sort((x, y) => x - y);
    expect(waits).toHaveLength(10);
    expect(waits[5]).toBeLessThan(1000);
  }, 90_000);

  it('rate 20/s: 200 deliveries take about ten seconds and are never faster than the bucket', async () => {
    flowhook = await startFlowhook({
      api,
      files: { 'a.yaml': asyncSource('flow-a', '{ rate: 20/s }') },
    });
    await send(flowhook, 'a', 200, 0, 50);
    await until(async () => (await countIn(flowhook!, 'a', 'succeeded')) === 200, 30_000, 'a done');
    const times = api
      .callsOf('flow-a')
      .map((c) => c.receivedAt)
      .sort((x, y) => x - y);
    expect(times).toHaveLength(200);
    // In any stretch of time, at most the burst (20) plus 20 per second. The tokens are taken
    // when a delivery is claimed, the times are when its call reached the fake API: on a loaded
    // machine the first calls (the burst) arrive up to ~100 ms late while the bucket refills, so
    // a stretch may see the tokens of 100 ms more (2). A bucket handed out twice is 20 more.
    const LATE_MS = 100;
    for (let i = 0; i < times.length; i++) {
      for (let j = i; j < times.length; j++) {
        expect(j - i + 1).toBeLessThanOrEqual(
          20 + Math.floor((20 * (times[j] - times[i] + LATE_MS)) / 1000) + 1,
        );
      }
    }
    // 200 calls with a bucket of 20: the last 180 take at least 9 s.
    expect(times[199] - times[0]).toBeGreaterThanOrEqual(9000 - 50);
  }, 60_000);

  it('a 429 with Retry-After: 2 stops that flow for 2 s; the other flow is not held up', async () => {
    api.answerFlow('flow-x', {
      kind: 'answer',
      status: 429,
      body: { error: 'slow down' },
      headers: { 'Retry-After': '2' },
    });
    flowhook = await startFlowhook({
      api,
      files: { 'x.yaml': asyncSource('flow-x'), 'y.yaml': asyncSource('flow-y') },
    });
    await send(flowhook, 'x', 1);
    await until(() => api.callsOf('flow-x')[0]?.answeredAt !== undefined, 5000, 'the 429');
    const throttledAt = api.callsOf('flow-x')[0].answeredAt!;
    api.answerFlow('flow-x', undefined);
    await send(flowhook, 'x', 5, 1);
    await send(flowhook, 'y', 5);
    await until(async () => (await countIn(flowhook!, 'y', 'succeeded')) === 5, 10_000, 'y done');
    await until(async () => (await countIn(flowhook!, 'x', 'succeeded')) === 6, 15_000, 'x done');
    const later = api.callsOf('flow-x').slice(1);
    expect(later).toHaveLength(6);
    for (const call of later) expect(call.receivedAt).toBeGreaterThanOrEqual(throttledAt + 2000);
    // flow-y ran while flow-x was blocked: every y call before the first x call after the block.
    const lastY = Math.max(...api.callsOf('flow-y').map((c) => c.receivedAt));
    expect(lastY).toBeLessThan(Math.min(...later.map((c) => c.receivedAt)));
    expect(flowhook.logs.text()).toMatch(/the flow API throttled the flow \(429\)/);
  }, 30_000);

  it('circuit: opens after the threshold, no calls while open, one probe, closes; each delivery runs once', async () => {
    api.answerFlow('flow-z', { kind: 'answer', status: 503, body: { error: 'down' } });
    flowhook = await startFlowhook({
      api,
      files: { 'z.yaml': asyncSource('flow-z') },
      env: {
        CIRCUIT_MIN_CALLS: '4',
        CIRCUIT_FAILURE_PERCENT: '50',
        CIRCUIT_WINDOW: '30s',
        CIRCUIT_COOLDOWN: '1500ms',
      },
    });
    // One at a time, so no call is in flight when the circuit opens.
    for (let i = 0; i < 4; i++) {
      await send(flowhook, 'z', 1, i);
      await until(() => api.callsOf('flow-z')[i]?.answeredAt !== undefined, 5000, `call ${i}`);
    }
    await until(() => /circuit open/.test(flowhook!.logs.text()), 5000, 'the circuit to open');
    // A retry that was already on its way when the circuit opened is let finish; after it, quiet.
    await until(
      () => api.requests.every((c) => c.answeredAt !== undefined),
      5000,
      'in-flight calls',
    );
    const quietFrom = Date.now();
    api.answerFlow('flow-z', undefined); // the flow recovers; only a probe can tell
    await send(flowhook, 'z', 4, 4);
    await until(async () => (await countIn(flowhook!, 'z', 'succeeded')) === 8, 20_000, 'z done');
    const lines = flowhook.logs.lines().filter((l) => l.circuit !== undefined);
    expect(lines.map((l) => l.circuit)).toEqual(['open', 'half-open', 'closed']);
    const [opened, probing] = lines.map((l) => Date.parse(l.time as string));
    // While open, nothing; the probe goes once the cool-down has passed.
    const calls = api.callsOf('flow-z');
    expect(calls.filter((c) => c.receivedAt > quietFrom && c.receivedAt < probing)).toEqual([]);
    expect(probing - opened).toBeGreaterThanOrEqual(1500 - 20);
    // Each delivery succeeded exactly once.
    const succeeded = calls.filter((c) => c.status === 200).map((c) => (c.body as { n: number }).n);
    expect(succeeded.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const state = await admin(flowhook, 'get', '/api/limits');
    expect(state.body.flows).toContainEqual(
      expect.objectContaining({ flow: 'org-1/flow-z', circuit: 'closed' }),
    );
  }, 40_000);

  it('pause and resume a source, with a restart in between: nothing runs while paused, all after', async () => {
    const files = { 'p.yaml': asyncSource('flow-p') };
    flowhook = await startFlowhook({ api, files });
    const paused = await admin(flowhook, 'post', '/api/sources/p/pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ source: 'p', paused: true, changed: true });
    const answers = await send(flowhook, 'p', 5);
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers[0].body).toEqual({ deliveryId: expect.any(String), status: 'queued' });
    // The worker looked at each and sent it back to wait.
    const waiting = async () => {
      const res = await admin(flowhook!, 'get', '/api/deliveries?source=p&status=queued');
      return (res.body.items as { nextAttemptAt: string | null }[]).filter(
        (d) => d.nextAttemptAt !== null,
      ).length;
    };
    await until(async () => (await waiting()) === 5, 5000, 'the paused deliveries to wait');
    const { dataDir } = flowhook;
    await flowhook.running.close();
    flowhook = await startFlowhook({ api, files, dataDir });
    expect((await admin(flowhook, 'get', '/api/sources')).body.sources[0]).toMatchObject({
      name: 'p',
      paused: true,
    });
    await send(flowhook, 'p', 2, 5);
    await until(async () => (await waiting()) === 7, 5000, 'the new deliveries to wait');
    expect(api.requests).toEqual([]);
    const resumed = await admin(flowhook, 'post', '/api/sources/p/resume');
    expect(resumed.body).toEqual({ source: 'p', paused: false, changed: true, woken: 7 });
    await until(async () => (await countIn(flowhook!, 'p', 'succeeded')) === 7, 10_000, 'all run');
    expect(api.requests).toHaveLength(7);
  }, 30_000);

  it('a pause while the worker holds deliveries claimed ahead: those are queued again, not called', async () => {
    api.hold();
    flowhook = await startFlowhook({
      api,
      files: { 'q.yaml': asyncSource('flow-q') },
      env: { WORKER_CONCURRENCY: '2' },
    });
    await send(flowhook, 'q', 10);
    // Two calls held at the flow API, up to two more claimed ahead for when they end.
    await until(() => api.requests.length === 2, 5000, 'two calls');
    expect((await admin(flowhook, 'post', '/api/sources/q/pause')).status).toBe(200);
    // Claimed before the pause, they wait at most the worker's poll (250 ms) for a slot, then go
    // back to the queue: only the two calls are running.
    await until(
      async () =>
        (await countIn(flowhook!, 'q', 'running')) === 2 &&
        (await countIn(flowhook!, 'q', 'queued')) === 8,
      5000,
      'only the called ones running',
    );
    api.release();
    await until(async () => (await countIn(flowhook!, 'q', 'succeeded')) === 2, 5000, '2 done');
    // The worker claims again, and the limits send each back to wait for the resume: all 8
    // queued with a time (one claimed but not yet sent back is running, and would be sent back
    // after the resume below, to wait for the pause's recheck in 30 s).
    await until(
      async () => {
        const res = await admin(flowhook!, 'get', '/api/deliveries?source=q&status=queued');
        const items = res.body.items as { nextAttemptAt: string | null }[];
        return items.length === 8 && items.every((d) => d.nextAttemptAt !== null);
      },
      5000,
      'the others waiting for the resume',
    );
    expect(api.requests).toHaveLength(2);
    await admin(flowhook, 'post', '/api/sources/q/resume');
    await until(async () => (await countIn(flowhook!, 'q', 'succeeded')) === 10, 10_000, 'all');
    expect(api.requests).toHaveLength(10);
  }, 30_000);

  it("pause and resume one flow: its deliveries wait, the source's other flow runs", async () => {
    flowhook = await startFlowhook({
      api,
      files: { 'f.yaml': asyncSource('flow-f'), 'g.yaml': asyncSource('flow-g') },
    });
    expect((await admin(flowhook, 'post', '/api/flows/flow-f/pause')).body).toEqual({
      flow: 'org-1/flow-f',
      orgId: 'org-1',
      flowId: 'flow-f',
      paused: true,
      changed: true,
    });
    await send(flowhook, 'f', 3);
    await send(flowhook, 'g', 3);
    await until(async () => (await countIn(flowhook!, 'g', 'succeeded')) === 3, 5000, 'g done');
    expect(api.callsOf('flow-f')).toEqual([]);
    const limits = await admin(flowhook, 'get', '/api/limits');
    expect(limits.body.pauses).toEqual([
      { kind: 'flow', name: 'org-1/flow-f', pausedAt: expect.any(String) },
    ]);
    // The CLI calls the same endpoints of the running flowhook.
    const env = { ADMIN_TOKEN: ADMIN };
    const shown = await cli(['limits', '--url', flowhook.url], env);
    expect(shown.out).toMatch(
      /^flow org-1\/flow-f: no limits; circuit closed; 0 running; PAUSED$/m,
    );
    const resumed = await cli(
      ['resume', 'flow', 'flow-f', '--org', 'org-1', '--url', flowhook.url],
      env,
    );
    expect(resumed).toEqual({
      code: 0,
      out: 'flow org-1/flow-f resumed; 3 waiting deliveries run now\n',
      err: '',
    });
    await until(async () => (await countIn(flowhook!, 'f', 'succeeded')) === 3, 5000, 'f done');
    const again = await cli(['resume', 'flow', 'flow-f', '--url', flowhook.url], env);
    expect(again.out).toBe('flow org-1/flow-f was already running\n');
    expect((await cli(['pause', 'queue', 'x'], env)).code).toBe(2);
  }, 45_000);

  it('sync over the limit: the sender gets 202 queued when replyWithin passes; it runs later', async () => {
    api.answerFlow('flow-s', { kind: 'slow', ms: 800 });
    flowhook = await startFlowhook({
      api,
      files: { 's.yaml': asyncSource('flow-s', '{ concurrency: 1 }', 'sync\nreplyWithin: 300ms') },
    });
    const [first, second] = await send(flowhook, 's', 2);
    const answers = [first.body, second.body].sort((x, y) => (x.status < y.status ? 1 : -1));
    // One took the only slot and outlived replyWithin; the other waited for it up to replyWithin.
    expect(answers[0]).toEqual({ deliveryId: expect.any(String), status: 'running' });
    expect(answers[1]).toEqual({
      deliveryId: expect.any(String),
      status: 'queued',
      reason:
        'the flow has as many executions running as its limits allow; the delivery is kept and runs when there is room',
      nextAttemptAt: expect.any(String),
    });
    await until(async () => (await countIn(flowhook!, 's', 'succeeded')) === 2, 10_000, 'both run');
    expect(api.callsOf('flow-s')).toHaveLength(2);
    expect(maxOverlap(api.callsOf('flow-s'))).toBe(1);
  }, 30_000);

  it('a paused sync source answers 202 queued at once and runs after the resume', async () => {
    flowhook = await startFlowhook({
      api,
      files: { 'q.yaml': asyncSource('flow-q', '', 'sync') },
    });
    await admin(flowhook, 'post', '/api/sources/q/pause');
    const [answer] = await send(flowhook, 'q', 1);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      status: 'queued',
      reason: expect.stringMatching(/^the source is paused/),
    });
    expect(api.requests).toEqual([]);
    await admin(flowhook, 'post', '/api/sources/q/resume');
    await until(async () => (await countIn(flowhook!, 'q', 'succeeded')) === 1, 5000, 'it runs');
  }, 30_000);
});
