import path from 'node:path';
import { cli, ROOT } from '../support/cli';
import { mappingsDir } from '../support/harness';

// Issue 16: `flowhook test` shows the answer the sender would get from respond:.
const SLASH = path.join(ROOT, 'test', 'fixtures', 'slack', 'slash-command.txt');
const SLACK = `
verify: { provider: slack, secret: s }
respond: { preset: slack, ok: { body: { text: "Deploy of {{ vars.text }} for {{ $.user_name }} ({{ sessionId }})" } } }
routes:
  - name: deploy
    when: [{ path: $.command, equals: /deploy }]
    flow: deploy-flow
    variables: { text: $.text, user: { path: $.user_name, required: true } }
`;

describe('flowhook test: the answer from respond:', () => {
  it('a run: the ok answer, with the session standing as <sessionId>', async () => {
    const dir = mappingsDir({ 'slack.yaml': SLACK });
    const result = await cli(['test', 'slack', SLASH, '--mappings', dir]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('answer to the sender (respond: ok): 200');
    expect(result.out).toContain('  Content-Type: application/json; charset=utf-8');
    expect(result.out).toContain(
      '  {"text":"Deploy of api to staging for roadrunner (<sessionId>)"}',
    );
  });

  it('--json: the rendered answer as data; no route → the ignored answer', async () => {
    const dir = mappingsDir({ 'slack.yaml': SLACK.replace('/deploy', '/other') });
    const result = await cli(['test', 'slack', SLASH, '--mappings', dir, '--json']);
    expect(result.code).toBe(1);
    const { answer } = JSON.parse(result.out);
    expect(answer).toMatchObject({ outcome: 'ignored', status: 200 });
    expect(JSON.parse(answer.body)).toEqual({
      response_type: 'ephemeral',
      text: 'Nothing to do for this request: no route matched.',
    });
  });

  it('a refusal: the refused answer carries flowhook’s message', async () => {
    const dir = mappingsDir({
      'slack.yaml': SLACK.replace('$.user_name, required', '$.nobody, required'),
    });
    const result = await cli(['test', 'slack', SLASH, '--mappings', dir, '--json']);
    const { answer } = JSON.parse(result.out);
    expect(answer.outcome).toBe('refused');
    expect(JSON.parse(answer.body).text).toBe(
      'Could not start: required variables not found in the request: user',
    );
  });
});
