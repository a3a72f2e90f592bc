import { createHash } from 'node:crypto';
import { twilio } from '../../src/verify/providers/twilio';
import { hmacOf, verifyTable, type Case, type Want } from './support';

// T1–T11: twilio-node spec/validation.spec.js and twilio-python test_request_validator.py
// (reference §2.7, all VERIFIED), Auth Token 12345.
const TOKEN = '12345';
const URL1 = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const P = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};
const P8 = { ...P, Caller: '+12349013030', From: '+12349013030' };
const form = (params: Record<string, string> | [string, string][]) =>
  new URLSearchParams(params).toString();
const JSON9 = '{"property": "value", "boolean": true}';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const withHash = (url: string, body: string) =>
  `${url}${url.includes('?') ? '&' : '?'}bodySHA256=${sha256(body)}`;
const sig = (value: string) => ({ 'X-Twilio-Signature': value });
const AT = 1767225600;

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows: Case[] = [
  { situation: 'T1 form params', want: ok },
  {
    situation: 'T2 URL received with :443',
    url: 'https://mycompany.com:443/myapp.php?foo=1&bar=2',
    headers: sig('kvajT1Ptam85bY51eRf/AJRuM3w='),
    want: ok,
  },
  {
    situation: 'T3 non-default port 1234',
    url: 'http://mycompany.com:1234/myapp.php?foo=1&bar=2',
    headers: sig('Zmvh+3yNM1Phv2jhDCwEM3q5ebU='),
    want: ok,
  },
  {
    situation: 'T4 http with :80',
    url: 'http://mycompany.com:80/myapp.php?foo=1&bar=2',
    headers: sig('0ZXoZLH/DfblKGATFgpif+LLRf4='),
    want: ok,
  },
  {
    situation: 'T5 credentials in the URL',
    url: 'https://user:pass@mycompany.com/myapp.php?foo=1&bar=2',
    headers: sig('CukzLTc1tT5dXEDIHm/tKBanW10='),
    want: ok,
  },
  {
    situation: 'T6 user only in the URL',
    url: 'https://user@mycompany.com/myapp.php?foo=1&bar=2',
    headers: sig('2YRLlVAflCqxaNicjMpJcSTgzSs='),
    want: ok,
  },
  {
    situation: 'T7 a repeated parameter name',
    body: form([
      ['Sid', 'CA123'],
      ['SidAccount', 'AC123'],
      ['Digits', '5678'],
      ['Digits', '1234'],
    ]),
    headers: sig('IK+Dwps556ElfBT0I3Rgjkr1wJU='),
    want: ok,
  },
  {
    situation: 'T8 the docs example',
    body: form(P8),
    headers: sig('0/KCTR6DLpKmkAf8muzZqo1nDgQ='),
    want: ok,
  },
  {
    situation: 'T9 JSON body with bodySHA256',
    url: withHash(URL1, JSON9),
    body: JSON9,
    headers: sig('a9nBmqA0ju/hNViExpshrM61xv4='),
    want: ok,
  },
  {
    situation: 'T10 JSON body, signed over the URL with :443',
    url: withHash(URL1, '{}'),
    body: '{}',
    headers: sig('Ldidvp12m26NI7eqEvxnEpkd9Hc='),
    want: ok,
  },
  {
    situation: 'T11 bodySHA256 as the only query parameter',
    url: withHash('https://mycompany.com/myapp.php', JSON9),
    body: JSON9,
    headers: sig('y77kIzt2vzLz71DgmJGsen2scGs='),
    want: ok,
  },
  {
    situation: 'T1 signed over :443 but received without a port',
    headers: sig(
      hmacOf(
        TOKEN,
        `https://mycompany.com:443/myapp.php?foo=1&bar=2${'CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212'}`,
        'base64',
        'sha1',
      ),
    ),
    want: ok,
  },
  {
    situation: 'publicUrl when a proxy changed scheme, host and path',
    url: 'http://10.0.0.7:3000/hooks/twilio?foo=1&bar=2',
    spec: { publicUrl: 'https://mycompany.com/myapp.php' },
    want: ok,
  },
  {
    situation: 'the proxied URL without publicUrl',
    url: 'http://10.0.0.7:3000/hooks/twilio?foo=1&bar=2',
    want: mismatch,
  },
  {
    situation: 'T9 with the JSON body changed (hash no longer matches)',
    url: withHash(URL1, JSON9),
    body: '{"property": "value", "boolean": false}',
    headers: sig('a9nBmqA0ju/hNViExpshrM61xv4='),
    want: { ok: false, reason: /^body does not match the bodySHA256 query parameter$/ },
  },
  {
    situation: 'T9 re-serialized JSON',
    url: withHash(URL1, JSON9),
    body: JSON.stringify(JSON.parse(JSON9)),
    headers: sig('a9nBmqA0ju/hNViExpshrM61xv4='),
    want: { ok: false, reason: /bodySHA256/ },
  },
  { situation: 'a parameter value changed', body: form({ ...P, Digits: '1235' }), want: mismatch },
  { situation: 'a parameter added', body: form({ ...P, Extra: 'x' }), want: mismatch },
  {
    situation: 'the query string changed',
    url: 'https://mycompany.com/myapp.php?foo=1&bar=3',
    want: mismatch,
  },
  { situation: 'a wrong Auth Token', secrets: ['54321'], want: mismatch },
  {
    situation: 'tokens [old, new] (rotation)',
    secrets: ['old-auth-token', TOKEN],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII parameter value',
    body: form({ Body: 'Grüße ♥', From: '+15551234567' }),
    headers: sig(hmacOf(TOKEN, `${URL1}BodyGrüße ♥From+15551234567`, 'base64', 'sha1')),
    want: ok,
  },
  {
    situation: 'the I-Twilio-Idempotency-Token as delivery id',
    headers: { ...sig('RSOYDt4T1cUTdK1PDd93/VVr8B8='), 'I-Twilio-Idempotency-Token': 'idem-42' },
    want: { ok: true, secretIndex: 0, deliveryId: 'idem-42' },
  },
  {
    situation: 'no signature header',
    headers: {},
    want: { ok: false, reason: /^missing X-Twilio-Signature header$/ },
  },
  {
    situation: 'an empty signature header',
    headers: sig(''),
    want: { ok: false, reason: /^malformed X-Twilio-Signature header/ },
  },
  {
    situation: 'a hex signature (wrong encoding)',
    headers: sig(hmacOf(TOKEN, `${URL1}CallSidCA1234567890ABCDE`, 'hex', 'sha1')),
    want: mismatch,
  },
];

verifyTable(
  'twilio',
  twilio,
  {
    secrets: [TOKEN],
    body: form(P),
    headers: sig('RSOYDt4T1cUTdK1PDd93/VVr8B8='),
    at: AT,
    url: URL1,
  },
  rows,
);
