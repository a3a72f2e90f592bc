import { slack } from '../../src/verify/providers/slack';
import { flipByte, hmacOf, labelled, reasonOf, received, request, type Want } from './support';

// L1: Slack's documented example, also python-slack-sdk test_signature_verifier.py.
const L1 = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  ts: 1531420618,
  body:
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
    '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
    '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
    '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
};
const NON_ASCII = '{"type":"event_callback","event":{"text":"héllo ☃ — ça va"}}';
const L1_HEX = 'a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const slackHeaders = (signature: string, ts: string | number = L1.ts) => ({
  'X-Slack-Signature': signature,
  'X-Slack-Request-Timestamp': String(ts),
});

interface Row {
  situation: string;
  secrets?: string[];
  body?: string | Buffer;
  headers: Record<string, string>;
  at?: number;
  want: Want;
}

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
// Only v0 exists; another version is refused as malformed rather than guessed at.
const malformed: Want = {
  ok: false,
  reason: /^malformed X-Slack-Signature header \(expected v0=<signature>\)$/,
};

const rows = labelled<Row>([
  { situation: 'L1 docs vector', headers: slackHeaders(`v0=${L1_HEX}`), want: ok },
  {
    situation: 'secrets [wrong, right] (rotation)',
    secrets: ['old_signing_secret', L1.secret],
    headers: slackHeaders(`v0=${L1_HEX}`),
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'clock just inside the window, 300 s after',
    at: L1.ts + 300,
    headers: slackHeaders(`v0=${L1_HEX}`),
    want: ok,
  },
  {
    situation: 'clock just inside the window, 300 s before',
    at: L1.ts - 300,
    headers: slackHeaders(`v0=${L1_HEX}`),
    want: ok,
  },
  {
    situation: 'clock 301 s after the timestamp',
    at: L1.ts + 301,
    headers: slackHeaders(`v0=${L1_HEX}`),
    want: { ok: false, reason: /^timestamp outside the 300 s tolerance \(too old\)$/ },
  },
  {
    situation: 'clock 301 s before the timestamp',
    at: L1.ts - 301,
    headers: slackHeaders(`v0=${L1_HEX}`),
    want: {
      ok: false,
      reason: /^timestamp outside the 300 s tolerance \(too far in the future\)$/,
    },
  },
  {
    situation: 'the body with "------" appended (python-slack-sdk)',
    body: `${L1.body}------`,
    headers: slackHeaders(`v0=${L1_HEX}`),
    want: mismatch,
  },
  {
    situation: 'one body byte flipped',
    body: flipByte(L1.body, 20),
    headers: slackHeaders(`v0=${L1_HEX}`),
    want: mismatch,
  },
  {
    situation: 'a wrong secret',
    secrets: ['wrong_signing_secret'],
    headers: slackHeaders(`v0=${L1_HEX}`),
    want: mismatch,
  },
  {
    situation: 'another timestamp inside the window',
    at: L1.ts,
    headers: slackHeaders(`v0=${L1_HEX}`, L1.ts + 1),
    want: mismatch,
  },
  {
    situation: 'uppercase hex',
    headers: slackHeaders(`v0=${L1_HEX.toUpperCase()}`),
    want: mismatch,
  },
  {
    situation: 'the valid digest under an unknown version v1',
    headers: slackHeaders(`v1=${L1_HEX}`),
    want: malformed,
  },
  {
    situation: 'the hex digest without v0=',
    headers: slackHeaders(L1_HEX),
    want: malformed,
  },
  {
    situation: 'a bare "v0="',
    headers: slackHeaders('v0='),
    want: malformed,
  },
  {
    situation: 'a non-ASCII Events API body',
    body: NON_ASCII,
    headers: slackHeaders(`v0=${hmacOf(L1.secret, `v0:${L1.ts}:${NON_ASCII}`)}`),
    want: ok,
  },
  {
    situation: 'no X-Slack-Signature header',
    headers: { 'X-Slack-Request-Timestamp': String(L1.ts) },
    want: { ok: false, reason: /^missing X-Slack-Signature header$/ },
  },
  {
    situation: 'no X-Slack-Request-Timestamp header',
    headers: { 'X-Slack-Signature': `v0=${L1_HEX}` },
    want: { ok: false, reason: /^missing X-Slack-Request-Timestamp header$/ },
  },
  {
    situation: 'a millisecond timestamp',
    headers: slackHeaders(`v0=${L1_HEX}`, '1531420618000.0'),
    want: { ok: false, reason: /^malformed timestamp in X-Slack-Request-Timestamp header/ },
  },
]);

describe('slack()', () => {
  it.each(rows)('slack() with $situation → $result', (row) => {
    const { secrets = [L1.secret], body = L1.body, headers, at = L1.ts, want } = row;
    const result = slack({ provider: 'slack', secrets })(request({ body, headers, at }));
    if (want.ok) {
      expect(result).toEqual(want);
      return;
    }
    const base = Buffer.concat([Buffer.from(`v0:${L1.ts}:`), Buffer.from(body)]);
    const expected = secrets.map((s) => hmacOf(s, base));
    expect(reasonOf(result, [...secrets, ...expected, L1_HEX, ...received(headers)])).toMatch(
      want.reason,
    );
  });
});
