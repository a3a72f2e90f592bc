import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_ANSWER_BYTES, createFlowClient } from '../../src/flows/create-flow-client';
import { mayPass } from '../../src/deliveries/retry-policy';
import { FlowhookError } from '../../src/errors';
import { FakeFlowApi, refusingUrl } from '../support/fake-flow-api';

// issue 15: the flow client sends with one http.request per call, no longer through axios; what
// the flow API receives and every failure's code must be what they were with the axios instance.
describe('createFlowClient over node:http (issue 15)', () => {
  const api = new FakeFlowApi();
  const TOKEN = 'flow-token-for-the-client-test';
  const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  let client: ReturnType<typeof createFlowClient>;

  beforeAll(async () => {
    await api.start();
    client = createFlowClient({ baseUrl: `${api.url}/`, token: TOKEN, timeoutMs: 300 });
  });
  afterEach(() => api.reset());
  afterAll(async () => {
    client.close();
    await api.stop();
  });

  it('execute sends one JSON POST with the token and traceparent, and returns the session', async () => {
    const answer = await client.execute({
      orgId: 'org 1',
      flowId: 'flow/a',
      variables: { repository: 'octo/repo', n: 2, nested: { ok: true } },
      traceparent: TRACEPARENT,
    });
    expect(answer).toEqual({ sessionId: 'session-1', result: 'Execution completed' });
    const [sent] = api.requests;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/cgw/process/v1/orgs/org%201/flows/flow%2Fa/execute');
    expect(sent.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      accept: 'application/json',
      traceparent: TRACEPARENT,
      'content-length': String(Buffer.byteLength(sent.rawBody)),
      // What the axios instance sent: its User-Agent, and no compressed answers.
      'user-agent': expect.stringMatching(/^axios\/\d+\.\d+\.\d+$/),
      'accept-encoding': 'identity',
    });
    expect(sent.rawBody).toBe(
      JSON.stringify({ repository: 'octo/repo', n: 2, nested: { ok: true } }),
    );
    expect(sent.body).toEqual({ repository: 'octo/repo', n: 2, nested: { ok: true } });
  });

  it('execute without a traceparent sends none', async () => {
    await client.execute({ orgId: 'o', flowId: 'f', variables: {} });
    expect(api.requests[0].headers.traceparent).toBeUndefined();
  });

  it('execute answered 429 with Retry-After is upstream_error with the status and the wait', async () => {
    api.answer(429, { error: `slow down ${TOKEN}` }, { 'retry-after': '7' });
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      code: 'upstream_error',
      details: { upstream: { status: 429, error: 'slow down [redacted]', retryAfterMs: 7000 } },
    });
  });

  it('execute answered non-JSON text is upstream_error carrying the text', async () => {
    api.answerRaw(503, 'down for maintenance');
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      code: 'upstream_error',
      details: { upstream: { status: 503, error: 'down for maintenance' } },
    });
  });

  it('execute against a hanging API is upstream_timeout', async () => {
    api.hang();
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      code: 'upstream_timeout',
    });
  });

  it('execute against a refused port is upstream_unreachable naming the system code', async () => {
    const refused = createFlowClient({
      baseUrl: await refusingUrl(),
      token: TOKEN,
      timeoutMs: 1000,
    });
    try {
      const failure = refused.execute({ orgId: 'o', flowId: 'f', variables: {} });
      await expect(failure).rejects.toMatchObject({ code: 'upstream_unreachable' });
      await expect(failure).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      refused.close();
    }
  });

  it('execute asks for a keep-alive connection on every call', async () => {
    for (let i = 0; i < 3; i++) await client.execute({ orgId: 'o', flowId: 'f', variables: {} });
    expect(api.requests.map((r) => r.headers.connection)).toEqual([
      'keep-alive',
      'keep-alive',
      'keep-alive',
    ]);
  });

  it('execute answered 500 with text echoing the token is upstream_error with the token redacted', async () => {
    api.answerRaw(500, `internal error for Bearer ${TOKEN}`);
    const failure = await client
      .execute({ orgId: 'o', flowId: 'f', variables: {} })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: 'upstream_error',
      details: { upstream: { status: 500, error: 'internal error for Bearer [redacted]' } },
    });
    expect(JSON.stringify(failure)).not.toContain(TOKEN);
    expect(String((failure as Error).message)).not.toContain(TOKEN);
  });

  it('execute answered 4xx keeps at most 500 characters of the error', async () => {
    api.answer(400, { error: 'x'.repeat(2000) });
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      code: 'upstream_error',
      details: { upstream: { status: 400, error: 'x'.repeat(500) } },
    });
  });

  it('execute answered 503 with Retry-After as an HTTP date gives the wait until then', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    api.answer(503, { error: 'later' }, { 'retry-after': at });
    const failure = (await client
      .execute({ orgId: 'o', flowId: 'f', variables: {} })
      .catch((error: unknown) => error)) as { details: { upstream: { retryAfterMs: number } } };
    expect(failure.details.upstream.retryAfterMs).toBeGreaterThan(50_000);
    expect(failure.details.upstream.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('execute answered 2xx without a JSON session is upstream_error', async () => {
    api.answerRaw(200, 'ok');
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      code: 'upstream_error',
      details: { upstream: { status: 200, error: 'the answer has no sessionId' } },
    });
    api.answerRaw(200, '');
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      details: { upstream: { status: 200, error: 'the answer has no sessionId' } },
    });
  });

  it('execute answered 200 with a session but no result string returns an empty result', async () => {
    api.answer(200, { sessionId: 's-9', result: { not: 'text' } });
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).resolves.toEqual({
      sessionId: 's-9',
      result: '',
    });
  });

  it('execute answered with a redirect does not follow it: upstream_error with the 3xx', async () => {
    api.answer(302, { error: 'moved' }, { location: `${api.url}/elsewhere` });
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      code: 'upstream_error',
      details: { upstream: { status: 302, error: 'moved' } },
    });
    expect(api.requests).toHaveLength(1);
  });

  it('execute whose answer headers never come is upstream_timeout at the deadline', async () => {
    api.hang();
    const started = Date.now();
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toThrow(
      'the flow API did not answer within 300 ms',
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3000);
  });

  it('execute whose body trickles past the deadline is upstream_timeout at the deadline', async () => {
    api.trickle(20);
    const started = Date.now();
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      code: 'upstream_timeout',
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3000);
  });

  it('execute answered slower than the deadline is upstream_timeout; a later call still works', async () => {
    api.answerAfter(600);
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toMatchObject({
      code: 'upstream_timeout',
    });
    api.reset();
    await expect(client.execute({ orgId: 'o', flowId: 'f', variables: {} })).resolves.toMatchObject(
      { result: 'Execution completed' },
    );
  });

  it('execute against a refused port names no token', async () => {
    const refused = createFlowClient({
      baseUrl: await refusingUrl(),
      token: TOKEN,
      timeoutMs: 1000,
    });
    try {
      const failure = await refused
        .execute({ orgId: 'o', flowId: 'f', variables: {} })
        .catch((error: unknown) => error);
      expect(JSON.stringify(failure)).not.toContain(TOKEN);
      expect((failure as Error).message).not.toContain(TOKEN);
      expect((failure as Error).stack ?? '').not.toContain(TOKEN);
    } finally {
      refused.close();
    }
  });

  it('execute whose answer is cut off mid-body is upstream_unreachable (ECONNRESET)', async () => {
    const cutting = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"sessionId":');
      setTimeout(() => res.destroy(), 20);
    });
    await new Promise<void>((resolve) => cutting.listen(0, '127.0.0.1', resolve));
    const { port } = cutting.address() as AddressInfo;
    const cut = createFlowClient({
      baseUrl: `http://127.0.0.1:${port}`,
      token: TOKEN,
      timeoutMs: 2000,
    });
    try {
      const failure = cut.execute({ orgId: 'o', flowId: 'f', variables: {} });
      await expect(failure).rejects.toMatchObject({ code: 'upstream_unreachable' });
      await expect(failure).rejects.toThrow(/ECONNRESET/);
    } finally {
      cut.close();
      cutting.closeAllConnections();
      await new Promise<void>((resolve) => cutting.close(() => resolve()));
    }
  });

  it('execute with a base URL path sends under it; a protocol other than http(s) is unreachable', async () => {
    const prefixed = createFlowClient({ baseUrl: `${api.url}/gw/`, token: TOKEN, timeoutMs: 300 });
    const ftp = createFlowClient({ baseUrl: 'ftp://127.0.0.1:21', token: TOKEN, timeoutMs: 300 });
    try {
      await prefixed.execute({ orgId: 'o', flowId: 'f', variables: {} });
      expect(api.requests[0].path).toBe('/gw/cgw/process/v1/orgs/o/flows/f/execute');
      await expect(ftp.execute({ orgId: 'o', flowId: 'f', variables: {} })).rejects.toThrow(
        'the flow API could not be reached (ERR_BAD_REQUEST)',
      );
    } finally {
      prefixed.close();
      ftp.close();
    }
  });

  it('execute with variables that are not JSON is upstream_unreachable, nothing sent', async () => {
    await expect(
      client.execute({ orgId: 'o', flowId: 'f', variables: { n: BigInt(1) } }),
    ).rejects.toThrow('the flow API could not be reached (network error)');
    expect(api.requests).toHaveLength(0);
  });

  it('many calls at once share keep-alive connections and all answer', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.execute({ orgId: 'o', flowId: `f${i}`, variables: { i } }),
      ),
    );
    expect(new Set(answers.map((a) => a.sessionId)).size).toBe(50);
    expect(api.requests.map((r) => (r.body as { i: number }).i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  describe('an answer larger than MAX_ANSWER_BYTES is not read', () => {
    const call = () => client.execute({ orgId: 'o', flowId: 'f', variables: {} });
    const failure = async () => {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FlowhookError);
      return error as FlowhookError;
    };

    it('a 2xx just under the cap is read', async () => {
      // {"sessionId":"s","pad":"…"} is 28 bytes around the padding.
      api.answer(200, { sessionId: 's', pad: 'x'.repeat(MAX_ANSWER_BYTES - 28) });
      await expect(call()).resolves.toEqual({ sessionId: 's', result: '' });
    });

    it('a 2xx past it is upstream_error with its status, not tried again (the flow may have run)', async () => {
      api.answer(200, { sessionId: 's', pad: 'x'.repeat(2 * MAX_ANSWER_BYTES) });
      const error = await failure();
      expect(error.code).toBe('upstream_error');
      expect(error.details.upstream).toEqual({
        status: 200,
        error: `the answer's body is larger than ${MAX_ANSWER_BYTES} bytes; not read`,
      });
      expect(mayPass({ code: error.code, httpStatus: 200 })).toBe(false);
      // The connection was dropped mid-body; the next call gets a new one and works.
      api.reset();
      await expect(call()).resolves.toMatchObject({ sessionId: expect.any(String) });
    });

    it('a 503 past it keeps its status and Retry-After: tried again as any 503', async () => {
      api.answer(503, { error: 'x'.repeat(2 * MAX_ANSWER_BYTES) }, { 'retry-after': '7' });
      const error = await failure();
      expect(error.details.upstream).toMatchObject({ status: 503, retryAfterMs: 7000 });
      expect(mayPass({ code: error.code, httpStatus: 503 })).toBe(true);
    });

    it('an endless body ends at the cap, long before the deadline', async () => {
      const endless = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const more = () => {
          while (res.write(chunk));
          res.once('drain', more);
        };
        more();
      });
      await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
      const port = (endless.address() as AddressInfo).port;
      // A deadline far away: only the cap can end this call.
      const slow = createFlowClient({
        baseUrl: `http://127.0.0.1:${port}`,
        token: TOKEN,
        timeoutMs: 30_000,
      });
      try {
        const started = Date.now();
        const error = await slow.execute({ orgId: 'o', flowId: 'f', variables: {} }).then(
          () => undefined,
          (e: unknown) => e as FlowhookError,
        );
        expect(error?.code).toBe('upstream_error');
        expect(error?.message).toBe('the flow API answered 200');
        expect(Date.now() - started).toBeLessThan(30_000);
      } finally {
        slow.close();
        endless.closeAllConnections();
        await new Promise((resolve) => endless.close(resolve));
      }
    });
  });
});
