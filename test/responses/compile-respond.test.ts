import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { loadMappings } from '../../src/mappings/load-mappings';
import { compileRespond } from '../../src/responses/compile-respond';
import type { AnswerContext, RespondDef } from '../../src/responses/types';
import { mappingsDir } from '../support/harness';

// Issue 16: response templates per outcome, compiled at load.
const VARS = new Set(['repository', 'user']);
const CONTEXT: AnswerContext = {
  deliveryId: 'd-1',
  body: { user_name: 'roadrunner', Body: 'a < b & "c"', nested: { list: [1, 2] } },
  sessionId: 's-1',
  result: 'Execution completed',
  route: 'deploy',
  flow: 'flow-1',
  vars: { repository: 'acme/api', user: 'roadrunner' },
  error: 'the flow API answered 400',
};

const render = (
  def: RespondDef,
  outcome: Parameters<ReturnType<typeof compileRespond>['render']>[0],
) => compileRespond(def, VARS).render(outcome, CONTEXT, 599);

describe('compileRespond', () => {
  it('a mapping body is JSON with each string templated; status and headers as written', () => {
    const answer = render(
      {
        ok: {
          status: 201,
          headers: { 'X-Run': 'run {{ sessionId }}' },
          body: { text: 'Deploy of {{ vars.repository }} started ({{ sessionId }})', n: 3 },
        },
      },
      'ok',
    );
    expect(answer).toEqual({
      status: 201,
      contentType: 'application/json; charset=utf-8',
      headers: { 'X-Run': 'run s-1' },
      body: '{"text":"Deploy of acme/api started (s-1)","n":3}',
    });
  });

  it.each([
    ['text/plain default, value as it is', undefined, 'Hi {{ $.Body }}', 'Hi a < b & "c"'],
    [
      'text/xml: XML escaping',
      'text/xml',
      '<r>{{ $.Body }}</r>',
      '<r>a &lt; b &amp; &quot;c&quot;</r>',
    ],
    [
      'application/xml: XML escaping',
      'application/xml',
      '<r>{{ $.Body }}</r>',
      '<r>a &lt; b &amp; &quot;c&quot;</r>',
    ],
    [
      'application/json text: JSON string escaping',
      'application/json',
      '{"t":"{{ $.Body }}"}',
      '{"t":"a < b & \\"c\\""}',
    ],
    ['an object value renders as its JSON', undefined, '{{ $.nested }}', '{"list":[1,2]}'],
  ])('a string body: %s', (_name, type, body, expected) => {
    const answer = render(
      { ok: { body, ...(type ? { headers: { 'Content-Type': type } } : {}) } },
      'ok',
    );
    expect(answer?.contentType).toBe(type ?? 'text/plain; charset=utf-8');
    expect(answer?.body).toBe(expected);
  });

  it('an outcome without a status keeps flowhook’s own; one left out renders nothing', () => {
    const compiled = compileRespond({ failed: { body: { text: '{{ error }}' } } }, VARS);
    expect(compiled.render('failed', CONTEXT, 502)?.status).toBe(502);
    expect(compiled.render('ok', CONTEXT, 200)).toBeUndefined();
    expect([...compiled.outcomes]).toEqual(['failed']);
  });

  it('a header value from the request loses its line breaks', () => {
    const answer = compileRespond({ ok: { headers: { 'X-User': '{{ $.u }}' } } }, VARS).render(
      'ok',
      { ...CONTEXT, body: { u: 'a\r\nSet-Cookie: x=1' } },
      200,
    );
    expect(answer?.headers).toEqual({ 'X-User': 'a??Set-Cookie: x=1' });
  });

  it('respond: slack — an ephemeral text for every outcome, all 200, late answers on', () => {
    const compiled = compileRespond('slack', VARS);
    expect(compiled.lateAnswers).toBe(true);
    expect([...compiled.outcomes].sort()).toEqual([
      'failed',
      'ignored',
      'ok',
      'queued',
      'refused',
      'running',
    ]);
    const ok = compiled.render('ok', CONTEXT, 200);
    expect(ok?.status).toBe(200);
    expect(ok?.contentType).toBe('application/json; charset=utf-8');
    expect(JSON.parse(ok?.body ?? '')).toEqual({
      response_type: 'ephemeral',
      text: 'deploy: Execution completed (session s-1)',
    });
    expect(JSON.parse(compiled.render('failed', CONTEXT, 502)?.body ?? '').text).toBe(
      'deploy could not run: the flow API answered 400',
    );
    expect(compiled.render('failed', CONTEXT, 502)?.status).toBe(200);
  });

  it('a preset outcome overridden: the body replaced, the rest kept', () => {
    const compiled = compileRespond(
      { preset: 'slack', ok: { body: { text: 'Started {{ sessionId }}' } } },
      VARS,
    );
    expect(compiled.render('ok', CONTEXT, 200)).toMatchObject({
      status: 200,
      body: '{"text":"Started s-1"}',
    });
    expect(compiled.render('running', CONTEXT, 202)?.status).toBe(200);
  });

  it('respond: twiml with a message — well-formed XML, values and literal text escaped', () => {
    const compiled = compileRespond(
      { preset: 'twiml', message: 'Got it & thanks: {{ $.Body }}' },
      VARS,
    );
    expect(compiled.lateAnswers).toBe(false);
    const ok = compiled.render('ok', CONTEXT, 200);
    expect(ok?.contentType).toBe('text/xml; charset=utf-8');
    expect(XMLValidator.validate(ok?.body ?? '')).toBe(true);
    const parsed = new XMLParser().parse(ok?.body ?? '');
    expect(parsed.Response.Message).toBe('Got it & thanks: a < b & "c"');
    const ignored = compiled.render('ignored', CONTEXT, 202);
    expect(ignored?.status).toBe(200);
    expect(ignored?.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
  });

  it('a twiml outcome overridden with a JSON body drops the preset’s text/xml', () => {
    const compiled = compileRespond(
      { preset: 'twiml', failed: { body: { error: '{{ error }}' } } },
      VARS,
    );
    expect(compiled.render('failed', CONTEXT, 502)?.contentType).toBe(
      'application/json; charset=utf-8',
    );
  });

  it('a template never runs code: a JSONPath filter is a load error', () => {
    expect(() => compileRespond({ ok: { body: '{{ $..[?(@.x)] }}' } }, VARS)).toThrow(
      /filter and script expressions are disabled/,
    );
  });
});

describe('respond: load errors name the place and the problem', () => {
  const file = (respond: string) => `
verify: { provider: none }
routes:
  - name: r
    flow: f
    variables: { repository: $.repository.full_name }
respond:
${respond}
`;
  it.each([
    [
      'an unknown outcome',
      '  okk: { body: hi }',
      /line 8, column 3: respond.okk: unknown key "okk" — did you mean "ok"\?/,
    ],
    [
      'a variable that no route sends',
      '  ok: { body: { text: "{{ vars.repo }}" } }',
      /respond\.ok\.body\.text: \{\{ vars\.repo \}\}: no route sends a variable "repo" \(variables: repository\)/,
    ],
    [
      'an unknown value name',
      '  ok: { body: "{{ sesionId }}" }',
      /respond\.ok\.body: \{\{ sesionId \}\} is not a template value — did you mean \{\{ sessionId \}\}\?/,
    ],
    [
      'a value the outcome does not know',
      '  ignored: { body: "{{ sessionId }}" }',
      /respond\.ignored\.body: \{\{ sessionId \}\} has no value in the ignored answer/,
    ],
    ['an unknown preset', '  preset: teams', /respond\.preset: must be one of "slack", "twiml"/],
    [
      'message without twiml',
      '  preset: slack\n  message: hi',
      /respond\.message: message is the reply text of preset: twiml/,
    ],
    [
      'a reserved header',
      '  ok: { headers: { Content-Length: "3" } }',
      /respond\.ok\.headers\.Content-Length: the Content-Length header is flowhook's to set/,
    ],
    ['a status out of range', '  ok: { status: 99 }', /respond\.ok\.status: must be >= 200/],
  ])('%s', (_name, respond, message) => {
    const set = loadMappings(mappingsDir({ 'a.yaml': file(respond) }), {});
    expect(set.sources.size).toBe(0);
    expect(set.errors.map((e) => e.message).join('\n')).toMatch(message);
    expect(set.errors[0]?.line).toBeGreaterThanOrEqual(8);
  });

  it('respond: slack alone loads', () => {
    const set = loadMappings(mappingsDir({ 'a.yaml': file('  preset: slack') }), {});
    expect(set.errors).toEqual([]);
    expect(set.sources.get('a')?.respond?.lateAnswers).toBe(true);
  });
});
