import request from 'supertest';
import { buildApp, fixture, githubSignature } from '../support/harness';

describe('dry-run (FLOW_BASE_URL unset)', () => {
  it('answers {"dryRun": true, ...} with the exact request it would have sent, token hidden', async () => {
    const t = buildApp({
      files: {
        'github.yaml': `
verify:
  provider: github
  secret: s3cret
routes:
  - name: push
    flow: \${FLOW}
    org: my org
    variables: { repository: $.repository.full_name, env: { value: prod } }
`,
      },
      env: { FLOW: 'deploy/1' },
    });
    const body = fixture('github', 'push.json');
    const res = await request(t.app)
      .post('/hooks/github')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', githubSignature('s3cret', body))
      .send(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      dryRun: true,
      deliveryId: expect.any(String),
      source: 'github',
      route: 'push',
      flowId: 'deploy/1',
      request: {
        method: 'POST',
        path: '/cgw/process/v1/orgs/my%20org/flows/deploy%2F1/execute',
        headers: { 'content-type': 'application/json', authorization: 'Bearer [FLOW_API_TOKEN]' },
        body: { repository: 'Codertocat/Hello-World', env: 'prod' },
      },
    });
    expect(t.logs.lines().find((l) => l.msg === 'hook request handled')).toMatchObject({
      dryRun: true,
      status: 200,
    });
  });
});
