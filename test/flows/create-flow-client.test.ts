import { createFlowClient } from '../../src/flows/create-flow-client';
import { FakeFlowApi, refusingUrl } from '../support/fake-flow-api';

// issue 15: the flow client sends over its own node:http adapter under axios; what the flow API
// receives and every failure's code must be what they were with axios's adapter.
describe('createFlowClient over the node:http adapter (issue 15)', () => {
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
    });
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
});
