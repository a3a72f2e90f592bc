import { cli, ROOT } from '../support/cli';
import fs from 'node:fs';
import path from 'node:path';
import { mappingsDir } from '../support/harness';

const fixture = (...parts: string[]) => path.join(ROOT, 'test', 'fixtures', ...parts);

describe('flowhook validate', () => {
  it('the shipped mappings are valid: exit 0, unset variables reported, not errors', async () => {
    const result = await cli(['validate', 'mappings']);
    expect(result.code).toBe(0);
    expect(result.err).toBe('');
    expect(result.out).toMatch(
      /github\.yaml: source "github" disabled until GITHUB_WEBHOOK_SECRET/,
    );
    expect(result.out).toMatch(/5 mapping file\(s\) valid/);
  });

  it('a broken file: exit 1, each problem with file, line, column, key path and a hint', async () => {
    const dir = mappingsDir({
      'good.yaml': 'verify: { provider: none }\nroutes: [{ name: r, flow: f }]\n',
      'bad.yaml':
        'verify:\n  provider: none\nroutes:\n  - name: r\n    flow: f\n    when:\n      - path: $.a\n        equal: b\n',
    });
    const result = await cli(['validate', dir]);
    expect(result.code).toBe(1);
    expect(result.err.split('\n')).toEqual([
      `${path.join(dir, 'bad.yaml')}: line 8, column 9: routes[0].when[0].equal: unknown key "equal" — did you mean "equals"?`,
      `${path.join(dir, 'good.yaml')}: warning: source "good" has verify.provider: none; anyone can call it`,
      '',
    ]);
    const json = await cli(['validate', dir, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({
      valid: false,
      errors: [{ file: 'bad.yaml', line: 8, column: 9, path: 'routes[0].when[0].equal' }],
      warnings: [{ file: 'good.yaml' }],
    });
  });

  it('a file waiting for a variable is still compiled, so its bad JSONPath is found', async () => {
    const dir = mappingsDir({
      'a.yaml':
        "verify: { provider: github, secret: '${UNSET_SECRET}' }\nroutes: [{ name: r, flow: f, variables: { x: '$.a[?(@.b)]' } }]\n",
    });
    const result = await cli(['validate', dir]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /routes\[0\]\.variables\.x: JSONPath .* filter and script expressions are disabled/,
    );
  });

  it('problems in different places of one file are all reported', async () => {
    const dir = mappingsDir({
      'a.yaml':
        'dispatch: everything\nverify: { provider: none }\nroutes: [{ name: r, flow: f, when: [{ path: $.a, greaterThan: 1 }] }]\n',
    });
    const result = await cli(['validate', dir, '--json']);
    expect(JSON.parse(result.out).errors.map((e: { path: string }) => e.path)).toEqual([
      'dispatch',
      'routes[0].when[0].greaterThan',
    ]);
  });

  it('a missing folder: exit 2 with one line', async () => {
    const result = await cli(['validate', '/nonexistent/flowhook']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /^flowhook: MAPPINGS_DIR: \/nonexistent\/flowhook does not exist\n$/,
    );
  });
});

describe('flowhook test', () => {
  it('explains route by route and condition by condition, then the exact execute request', async () => {
    const result = await cli([
      'test',
      'github',
      fixture('github', 'push.json'),
      '-H',
      'X-GitHub-Event: push',
    ]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('route push-to-main: MATCHED');
    expect(result.out).toContain('✓ header X-GitHub-Event equals "push"    found: "push"');
    expect(result.out).toContain('✓ $.ref equals "refs/heads/main"    found: "refs/heads/main"');
    expect(result.out).toContain('route issue-opened: no match');
    expect(result.out).toContain('✗ header X-GitHub-Event equals "issues"    found: "push"');
    expect(result.out).toContain(
      'POST /cgw/process/v1/orgs/FLOW_ORG_ID/flows/GITHUB_DEPLOY_FLOW_ID/execute',
    );
    expect(result.out).toContain('"repository": "Codertocat/Hello-World"');
    expect(result.out).toContain(
      'unset variables, shown by name: FLOW_ORG_ID, GITHUB_DEPLOY_FLOW_ID',
    );
  });

  it('--json gives the same explanation as data; set variables are used', async () => {
    const result = await cli(
      ['test', 'github', fixture('github', 'push.json'), '-H', 'X-GitHub-Event: push', '--json'],
      { GITHUB_DEPLOY_FLOW_ID: 'deploy', FLOW_ORG_ID: 'acme' },
    );
    const json = JSON.parse(result.out);
    expect(json).toMatchObject({
      ok: true,
      source: 'github',
      matched: ['push-to-main'],
      executions: [
        {
          route: 'push-to-main',
          flowId: 'deploy',
          request: {
            method: 'POST',
            path: '/cgw/process/v1/orgs/acme/flows/deploy/execute',
            body: {
              repository: 'Codertocat/Hello-World',
              event: 'push',
              environment: 'production',
            },
          },
        },
      ],
    });
    expect(json.routes[0].conditions[0]).toEqual({
      condition: 'header X-GitHub-Event equals "push"',
      held: true,
      found: ['push'],
    });
  });

  it('no route matched: exit 1 and the answer the sender would get', async () => {
    const result = await cli([
      'test',
      'github',
      fixture('github', 'push.json'),
      '-H',
      'X-GitHub-Event: star',
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('answer: 202 ignored: no route matched');
  });

  it('a required variable missing: exit 1 and the 422', async () => {
    const payload = path.join(
      mappingsDir({ 'p.json': '{"ref":"refs/heads/main","repository":{}}' }),
      'p.json',
    );
    const result = await cli(['test', 'github', payload, '-H', 'X-GitHub-Event: push']);
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      'answer: 422 missing_variables: required variables not found in the request: commit, message',
    );
  });

  it('${VAR:-fallback} uses the fallback; only variables without one are listed as unset', async () => {
    const dir = mappingsDir({
      'a.yaml':
        "verify: { provider: none }\nroutes: [{ name: r, flow: '${FLOW:-fallback-flow}', org: '${ORG}' }]\n",
      'p.json': '{}',
    });
    const result = await cli(['test', 'a', path.join(dir, 'p.json'), '--mappings', dir, '--json']);
    const json = JSON.parse(result.out);
    expect(json.executions[0].flowId).toBe('fallback-flow');
    expect(json.unset).toEqual(['FLOW_ORG_ID', 'ORG']);
  });

  it('form payloads and query parameters', async () => {
    const result = await cli([
      'test',
      'contact-form',
      fixture('forms', 'contact.txt'),
      '-q',
      'token=x',
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out).executions[0].request.body).toEqual({
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      message: 'Hello ✓',
    });
  });

  it.each([
    [['test', 'nope', 'x.json'], /source "nope": no mapping file/],
    [['test', 'github', '/nonexistent.json'], /cannot read \/nonexistent.json \(ENOENT\)/],
    [
      ['test', 'github', fixture('github', 'push.json'), '-H', 'no-colon'],
      /-H "no-colon" is not "Name: value"/,
    ],
  ])('%j → exit 2 with a clear line', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
  });

  it('--help of each command describes it', async () => {
    for (const command of ['validate', 'test', 'serve']) {
      const result = await cli([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.out).toMatch(new RegExp(`Usage: flowhook ${command}`));
    }
    expect(fs.existsSync(path.join(ROOT, 'bin', 'flowhook.js'))).toBe(true);
  });
});
