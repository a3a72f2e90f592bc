import { createVerifier } from '../../src/verify/create-verifier';
import { PROVIDERS } from '../../src/verify/provider-names';
import { SignError, signRequest, type SignInput } from '../../src/verify/sign-request';
import { VerifySpecError, type VerifyRequest, type VerifySpec } from '../../src/verify/types';
import { flipByte } from './support';

const NOW = Date.UTC(2026, 0, 15, 9, 30, 12, 345);
const URL = 'https://hooks.example.com/hooks/source?team=a%20b&x=1';
const JSON_BODY = '{"id":"evt_1","type":"thing.happened","data":{"name":"Zoë ☕","n":42}}';
const FORM_BODY = 'CallSid=CA123&From=%2B14158675309&Body=hello+world&Digits=1&Digits=2';
const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const WHSEC_OLD = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

/** The request the receiver gets: the signed headers on top of the ones given, names lower-cased. */
function received(
  input: SignInput,
  signed: { headers: Record<string, string>; url: string },
  body: Buffer = input.rawBody,
): VerifyRequest {
  const headers = Object.fromEntries(
    Object.entries({ ...input.headers, ...signed.headers }).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const at = signed.url.indexOf('?');
  const query = at < 0 ? {} : Object.fromEntries(new URLSearchParams(signed.url.slice(at + 1)));
  return { rawBody: body, headers, method: input.method, url: signed.url, query, now: input.now };
}

interface Row {
  readonly situation: string;
  readonly spec: VerifySpec;
  readonly body?: string;
  readonly url?: string;
  readonly headers?: Record<string, string>;
}

const spec = (
  provider: string,
  secrets: string[],
  options: Partial<VerifySpec> = {},
): VerifySpec => ({
  provider,
  secrets,
  ...options,
});

// Every preset whose signature covers the body, with the newest secret first and an older one
// after it (the signature must be made with the first).
const SIGNED: Row[] = [
  { situation: 'github', spec: spec('github', ['gh-new', 'gh-old']) },
  { situation: 'github, legacy: true', spec: spec('github', ['gh-new'], { legacy: true }) },
  { situation: 'stripe', spec: spec('stripe', ['whsec_stripe_new', 'whsec_stripe_old']) },
  { situation: 'stripe, tolerance 0', spec: spec('stripe', ['whsec_s'], { tolerance: 0 }) },
  { situation: 'standard-webhooks', spec: spec('standard-webhooks', [WHSEC, WHSEC_OLD]) },
  { situation: 'svix', spec: spec('svix', [WHSEC, WHSEC_OLD]) },
  { situation: 'gitlab, signing token', spec: spec('gitlab', [WHSEC, WHSEC_OLD]) },
  {
    situation: 'gitlab, signing token and secret token (both checked)',
    spec: spec('gitlab', [WHSEC, 'gl-secret-token']),
  },
  {
    situation: 'slack, form body',
    spec: spec('slack', ['slack-new', 'slack-old']),
    body: FORM_BODY,
  },
  { situation: 'slack, JSON body', spec: spec('slack', ['slack-new']) },
  { situation: 'shopify', spec: spec('shopify', ['shpss_new', 'shpss_old']) },
  { situation: 'twilio, form body', spec: spec('twilio', ['tw-new', 'tw-old']), body: FORM_BODY },
  {
    situation: 'twilio, form body, explicit Content-Type',
    spec: spec('twilio', ['tw-new']),
    body: FORM_BODY,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
  },
  { situation: 'twilio, JSON body (bodySHA256 in the URL)', spec: spec('twilio', ['tw-new']) },
  {
    situation: 'twilio, publicUrl',
    spec: spec('twilio', ['tw-new'], { publicUrl: 'https://public.example.com/twilio' }),
    body: FORM_BODY,
    url: 'http://10.0.0.7:3000/hooks/twilio?foo=1',
  },
  { situation: 'typeform', spec: spec('typeform', ['tf-new', 'tf-old']) },
  { situation: 'tally', spec: spec('tally', ['tally-new', 'tally-old']) },
  {
    situation: 'linear, body carrying a fresh webhookTimestamp',
    spec: spec('linear', ['lin-new', 'lin-old']),
    body: `{"action":"create","type":"Issue","webhookTimestamp":${NOW - 5_000}}`,
  },
  { situation: 'paddle', spec: spec('paddle', ['pdl_ntfset_new', 'pdl_ntfset_old']) },
  { situation: 'square', spec: spec('square', ['sq-new', 'sq-old']) },
  {
    situation: 'square, publicUrl',
    spec: spec('square', ['sq-new'], { publicUrl: 'https://public.example.com/square' }),
    url: 'http://127.0.0.1:3000/hooks/square',
  },
  { situation: 'zendesk', spec: spec('zendesk', ['zd-new', 'zd-old']) },
  { situation: 'hubspot', spec: spec('hubspot', ['hs-new', 'hs-old']) },
  {
    situation: 'hubspot, publicUrl, legacy: true, encoded characters in the query',
    spec: spec('hubspot', ['hs-new'], { publicUrl: 'https://public.example.com/hs', legacy: true }),
    url: 'http://127.0.0.1:3000/hooks/hs?since=2026-01-01T00%3A00%3A00Z',
  },
  { situation: 'intercom', spec: spec('intercom', ['ic-new', 'ic-old']) },
  { situation: 'calendly', spec: spec('calendly', ['cal-new', 'cal-old']) },
  { situation: 'calcom', spec: spec('calcom', ['calcom-new', 'calcom-old']) },
  { situation: 'webflow', spec: spec('webflow', ['wf-new', 'wf-old']) },
  {
    situation: 'hmac, GitHub-like with sha512',
    spec: spec('hmac', ['h-new', 'h-old'], {
      header: 'X-Signature',
      prefix: 'sha512=',
      algorithm: 'sha512',
    }),
  },
  {
    situation: 'hmac, Stripe-like header with the timestamp inside',
    spec: spec('hmac', ['h-new'], {
      header: 'X-Signature',
      separator: ',',
      timestampPrefix: 't=',
      prefix: 'v1=',
      signedContent: '{timestamp}.{body}',
      tolerance: 30,
    }),
  },
  {
    situation: 'hmac, every placeholder, base64 key, ISO timestamp, publicUrl',
    spec: spec('hmac', [Buffer.from('raw key bytes \u0000\u0001').toString('base64')], {
      header: 'X-Signature',
      encoding: 'base64',
      secretEncoding: 'base64',
      signedContent: '{id}|{timestamp}|{method}|{url}|{header:X-Tenant}|{body}',
      timestampHeader: 'X-Timestamp',
      timestampUnit: 'iso',
      idHeader: 'X-Delivery',
      publicUrl: 'https://public.example.com/in',
    }),
    headers: { 'X-Tenant': 'acme' },
  },
  {
    situation: 'hmac, whsec key, timestamp in ms',
    spec: spec('hmac', [WHSEC], {
      header: 'X-Signature',
      secretEncoding: 'whsec',
      signedContent: '{timestamp}:{body}',
      timestampHeader: 'X-Timestamp',
      timestampUnit: 'ms',
    }),
  },
  {
    situation: 'hmac, timestamp in the body',
    spec: spec('hmac', ['h-new'], { header: 'X-Signature', timestampPath: '$.sentAt' }),
    body: `{"sentAt":${Math.floor(NOW / 1000)},"a":1}`,
  },
];

describe('signRequest: a round trip through the verifier of the same spec', () => {
  it.each(SIGNED)('$situation: accepted; one changed body byte is refused', (row) => {
    const input: SignInput = {
      rawBody: Buffer.from(row.body ?? JSON_BODY, 'utf8'),
      method: 'POST',
      url: row.url ?? URL,
      now: NOW,
      ...(row.headers && { headers: row.headers }),
    };
    const signed = signRequest(row.spec, input);
    const verify = createVerifier(row.spec);
    const result = verify(received(input, signed));
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
    for (const index of [0, Math.floor(input.rawBody.length / 2), input.rawBody.length - 1]) {
      expect(verify(received(input, signed, flipByte(input.rawBody, index)))).toMatchObject({
        ok: false,
      });
    }
    // A signature never carries its key: no secret appears in what is sent (GitLab's secret
    // token aside, which is sent as it is).
    for (const secret of row.spec.secrets.filter((s) => s !== 'gl-secret-token')) {
      expect(JSON.stringify(signed)).not.toContain(secret);
    }
  });

  it('covers every preset but mailgun (signed, unsigned or refused below)', () => {
    const unsigned = ['token', 'basic', 'none'];
    const covered = new Set([...SIGNED.map((r) => r.spec.provider), ...unsigned, 'mailgun']);
    expect([...PROVIDERS].filter((p) => !covered.has(p))).toEqual([]);
  });

  it('the signature is as fresh as `now`: an hour later the verifier refuses it', () => {
    const input = { rawBody: Buffer.from(JSON_BODY), method: 'POST', url: URL, now: NOW };
    const s = spec('stripe', ['whsec_x']);
    const signed = signRequest(s, input);
    expect(createVerifier(s)({ ...received(input, signed), now: NOW + 3_600_000 })).toEqual({
      ok: false,
      reason: 'timestamp outside the 300 s tolerance (too old)',
    });
  });

  it('the delivery id: the one given, else the id header given, else a fresh UUID', () => {
    const input = { rawBody: Buffer.from(JSON_BODY), method: 'POST', url: URL, now: NOW };
    const s = spec('github', ['gh']);
    expect(signRequest(s, { ...input, id: 'given' }).headers['X-GitHub-Delivery']).toBe('given');
    const fromHeader = signRequest(s, { ...input, headers: { 'x-github-delivery': 'from-h' } });
    expect(fromHeader.headers['X-GitHub-Delivery']).toBe('from-h');
    const a = signRequest(s, input).headers['X-GitHub-Delivery'];
    const b = signRequest(s, input).headers['X-GitHub-Delivery'];
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
  });
});

// The signer reproduces the providers' own published signatures, so the round trip above is not
// merely the engine agreeing with itself (vectors from the verifier tests of each preset).
describe('signRequest reproduces the providers’ published vectors', () => {
  const at = (body: string | Buffer, now: number, url = 'https://example.com/hook') => ({
    rawBody: Buffer.from(body),
    method: 'POST',
    url,
    now,
  });

  it('GitHub (docs example)', () => {
    const signed = signRequest(
      spec('github', ["It's a Secret to Everybody"]),
      at('Hello, World!', 0),
    );
    expect(signed.headers['X-Hub-Signature-256']).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });

  it('Stripe (the SDK tests’ whsec_test_secret, DERIVED in the stripe verifier test)', () => {
    const signed = signRequest(
      spec('stripe', ['whsec_test_secret']),
      at('{"id":"evt_test_webhook","object":"event"}', 1700000000 * 1000 + 500),
    );
    expect(signed.headers).toEqual({
      'Stripe-Signature':
        't=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990',
    });
  });

  it('Slack (documented example)', () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
      '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
      '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
      '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const signed = signRequest(
      spec('slack', ['8f742231b10e8888abcd99yyyzzz85a5']),
      at(body, 1531420618 * 1000 + 999),
    );
    expect(signed.headers).toEqual({
      'X-Slack-Signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      'X-Slack-Request-Timestamp': '1531420618',
    });
  });

  it('Standard Webhooks (the libraries’ sign vector)', () => {
    const signed = signRequest(spec('standard-webhooks', [WHSEC]), {
      ...at('{"test": 2432232314}', 1614265330 * 1000),
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    });
    expect(signed.headers).toEqual({
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      'webhook-timestamp': '1614265330',
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    });
    const svix = signRequest(spec('svix', [WHSEC]), {
      ...at('{"test": 2432232314}', 1614265330 * 1000),
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    });
    expect(svix.headers['svix-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('Twilio: form parameters (T1), and a JSON body through bodySHA256 (T9)', () => {
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const form = new URLSearchParams({
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675309',
      Digits: '1234',
      From: '+14158675309',
      To: '+18005551212',
    }).toString();
    const t1 = signRequest(spec('twilio', ['12345']), at(form, 0, url));
    expect(t1).toMatchObject({
      url,
      headers: { 'X-Twilio-Signature': 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' },
    });
    const json = '{"property": "value", "boolean": true}';
    const t9 = signRequest(spec('twilio', ['12345']), at(json, 0, url));
    expect(t9.url).toBe(
      `${url}&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620`,
    );
    expect(t9.headers['X-Twilio-Signature']).toBe('a9nBmqA0ju/hNViExpshrM61xv4=');
  });

  it('HubSpot v3 (SDK vector)', () => {
    const signed = signRequest(
      spec('hubspot', ['yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy']),
      at("{'example_field':'example_value'}", 15000000, 'https://www.example.com/webhook_uri'),
    );
    expect(signed.headers).toEqual({
      'X-HubSpot-Signature-v3': 'HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=',
      'X-HubSpot-Request-Timestamp': '15000000',
    });
  });

  it('Zendesk writes an ISO date without milliseconds', () => {
    const signed = signRequest(spec('zendesk', ['zd']), at('{}', NOW));
    expect(signed.headers['X-Zendesk-Webhook-Signature-Timestamp']).toBe('2026-01-15T09:30:12Z');
  });
});

describe('signRequest: presets that carry a credential, not a signature', () => {
  const input: SignInput = { rawBody: Buffer.from(JSON_BODY), method: 'POST', url: URL, now: NOW };
  const rows: { situation: string; spec: VerifySpec; want: { headers: object; url: string } }[] = [
    {
      situation: 'token in the default header',
      spec: spec('token', ['tok-new', 'tok-old']),
      want: { headers: { 'X-Webhook-Token': 'tok-new' }, url: URL },
    },
    {
      situation: 'token in Authorization',
      spec: spec('token', ['tok-new'], { header: 'Authorization' }),
      want: { headers: { Authorization: 'Bearer tok-new' }, url: URL },
    },
    {
      situation: 'token in the query',
      spec: spec('token', ['tok new&=', 'tok-old'], { query: 'token' }),
      want: { headers: {}, url: `${URL}&token=tok%20new%26%3D` },
    },
    {
      situation: 'basic',
      spec: spec('basic', ['pa:ss', 'old'], { username: 'zendesk' }),
      want: {
        headers: { Authorization: `Basic ${Buffer.from('zendesk:pa:ss').toString('base64')}` },
        url: URL,
      },
    },
    {
      situation: 'gitlab secret token',
      spec: spec('gitlab', ['gl-new', 'gl-old']),
      want: { headers: { 'X-Gitlab-Token': 'gl-new' }, url: URL },
    },
    { situation: 'none', spec: spec('none', []), want: { headers: {}, url: URL } },
  ];

  it.each(rows)('$situation: accepted; the body is not covered (as documented)', (row) => {
    const signed = signRequest(row.spec, input);
    expect(signed).toEqual(row.want);
    const verify = createVerifier(row.spec);
    expect(verify(received(input, signed))).toMatchObject({ ok: true });
    expect(verify(received(input, signed, flipByte(input.rawBody)))).toMatchObject({ ok: true });
  });

  it.each(rows.filter((r) => r.spec.provider !== 'none'))(
    '$situation: signed with another secret, refused',
    (row) => {
      const signed = signRequest({ ...row.spec, secrets: ['not-the-one'] }, input);
      expect(createVerifier(row.spec)(received(input, signed))).toMatchObject({ ok: false });
    },
  );
});

describe('signRequest: what cannot be signed says why', () => {
  const input: SignInput = { rawBody: Buffer.from(JSON_BODY), method: 'POST', url: URL, now: NOW };

  it('mailgun: the signature is inside the body', () => {
    const s = spec('mailgun', ['key-mailgun-secret']);
    expect(() => signRequest(s, input)).toThrow(SignError);
    expect(() => signRequest(s, input)).toThrow(
      /^mailgun: the signature is not a header but part of the body \(signature\.timestamp/,
    );
  });

  it('linear: a body without webhookTimestamp, or a stale one, says what to set', () => {
    const s = spec('linear', ['lin']);
    expect(() => signRequest(s, input)).toThrow(
      new SignError(
        `linear: the timestamp is $.webhookTimestamp inside the signed body and the receiver would refuse it (missing $.webhookTimestamp in the body); set $.webhookTimestamp to the current time, e.g. ${NOW} (milliseconds since the epoch), and sign again`,
      ),
    );
    const stale = { ...input, rawBody: Buffer.from(`{"webhookTimestamp":${NOW - 61_000}}`) };
    expect(() => signRequest(s, stale)).toThrow(
      /\(timestamp outside the 60 s tolerance \(too old\)\); set \$\.webhookTimestamp/,
    );
  });

  it('hmac signing a header: the header value is needed', () => {
    const s = spec('hmac', ['h'], { header: 'X-Sig', signedContent: '{header:X-Tenant}.{body}' });
    expect(() => signRequest(s, input)).toThrow(
      new SignError(
        "hmac: the signature covers the X-Tenant header; give the value it will have (-H 'X-Tenant: …')",
      ),
    );
  });

  it('a spec that cannot make a verifier is the verifier’s error; a bad secret is never shown', () => {
    expect(() => signRequest(spec('nope', ['s']), input)).toThrow(VerifySpecError);
    const bad = spec('standard-webhooks', ['whsec_not base64!']);
    expect(() => signRequest(bad, input)).toThrow(VerifySpecError);
    try {
      signRequest(bad, input);
    } catch (error) {
      expect((error as Error).message).not.toContain('not base64');
    }
  });
});
