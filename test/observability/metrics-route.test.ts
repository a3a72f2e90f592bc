import request from 'supertest';
import { buildApp } from '../support/harness';
import { parseMetrics, sample } from './prometheus-text';

const FILES = {
  'form.yaml': `
source: form
verify: { provider: none }
routes:
  - name: any
    flow: f
`,
  'broken.yaml': `
source: broken
verify: { provider: github, secret: x }
routes: not-a-list
`,
};
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('GET /metrics (METRICS, METRICS_TOKEN)', () => {
  it('is on by default and open: Prometheus text with the mapping gauges', async () => {
    const t = buildApp({ files: FILES });
    const res = await request(t.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const m = parseMetrics(res.text);
    expect(sample(m, 'flowhook_mappings_loaded')).toBe(1);
    expect(sample(m, 'flowhook_mapping_errors', { source: 'broken' })).toBe(1);
    expect(sample(m, 'flowhook_queue_depth', { state: 'queued' })).toBe(0);
    await t.store.close();
  });

  it('METRICS=off: /metrics is a 404 like any unknown path, and nothing is counted', async () => {
    const t = buildApp({ files: FILES, config: { metrics: false } });
    expect((await request(t.app).post('/hooks/form').send({})).status).toBe(200);
    const res = await request(t.app).get('/metrics');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'not_found' });
    await t.store.close();
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${'x'.repeat(METRICS_TOKEN.length)}`],
    ['another scheme', `Basic ${METRICS_TOKEN}`],
  ])('METRICS_TOKEN set, %s → 401 with WWW-Authenticate, logged', async (_what, header) => {
    const t = buildApp({ files: FILES, config: { metricsToken: METRICS_TOKEN } });
    const call = request(t.app).get('/metrics');
    const res = await (header === undefined ? call : call.set('Authorization', header));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="flowhook metrics"');
    expect(res.body).toMatchObject({ code: 'unauthorized' });
    expect(res.text).not.toContain('flowhook_');
    expect(t.logs.text()).toContain('/metrics refused');
    expect(t.logs.text()).not.toContain(METRICS_TOKEN);
    await t.store.close();
  });

  it('METRICS_TOKEN set, the right bearer token → 200', async () => {
    const t = buildApp({ files: FILES, config: { metricsToken: METRICS_TOKEN } });
    const res = await request(t.app)
      .get('/metrics')
      .set('Authorization', `bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('flowhook_requests_total');
    await t.store.close();
  });
});
