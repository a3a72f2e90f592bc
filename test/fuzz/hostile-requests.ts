import { createHmac } from 'node:crypto';

/**
 * Generators of hostile HTTP requests, as raw bytes written to a socket (so framing tricks are
 * possible), from a seeded PRNG: a failing run is reproduced with its FUZZ_SEED.
 */
export interface FuzzSecrets {
  readonly github: string;
  readonly stripe: string;
  readonly formToken: string;
  readonly flowToken: string;
}

export interface HostileRequest {
  /** What kind of trick it is, for the summary. */
  readonly kind: string;
  readonly bytes: Buffer;
}

type Rng = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rng: Rng, max: number) => Math.floor(rng() * max);
const pick = <T>(rng: Rng, list: readonly T[]): T => list[int(rng, list.length)];
const bytes = (rng: Rng, n: number) => Buffer.from(Array.from({ length: n }, () => int(rng, 256)));

const SOURCES = ['github', 'open', 'form', 'stripe', 'nope', 'GitHub', 'open.', '.'];
const PATHS = [
  '/hooks/%ff',
  '/hooks/%',
  '/hooks/%zz',
  '/hooks/%e2%82',
  '/hooks/../hooks/open',
  '/hooks//open',
  '/hooks/open/extra',
  '/hooks/%2e%2e',
  '/hooks/open%00',
  '/hooks/%6fpen',
  '/hooks/ópen',
  '/hooks/open?x=%ff&x=%&token=%zz',
  '/hooks/open?__proto__=1&constructor=2',
  `/hooks/open?${'a=1&'.repeat(2000)}`,
  `/hooks/${'a'.repeat(9000)}`,
  '/',
  '/healthz',
  '/readyz',
  '/api/deliveries',
  '/api/%ff',
  '*',
  'http://evil.example/hooks/open',
];
const METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'FOO', 'post'];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset="UTF-16"',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded;;;charset=',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
  'application/json, text/html',
  '*/*',
];
const ENCODINGS = ['gzip', 'br', 'deflate', 'identity', 'gzip, identity', 'x-unknown'];

/** Bodies a parser has to survive. */
function hostileBody(rng: Rng, secrets: FuzzSecrets): [string, Buffer] {
  const secret = pick(rng, Object.values(secrets));
  const n = int(rng, 70_000);
  const choices: [string, () => Buffer | string][] = [
    ['random bytes', () => bytes(rng, int(rng, 4096))],
    ['broken JSON', () => `{"text": "${'a'.repeat(int(rng, 64))}", "ref": [1, 2,`],
    ['deep nesting', () => '['.repeat(n) + ']'.repeat(int(rng, 2) ? n : 0)],
    ['deep objects', () => '{"a":'.repeat(int(rng, 2000)) + '1' + '}'.repeat(int(rng, 2000))],
    [
      'huge numbers',
      () => `{"n": 1e999999, "m": -${'9'.repeat(5000)}, "f": 0.${'1'.repeat(5000)}}`,
    ],
    [
      'invalid UTF-8',
      () =>
        Buffer.concat([
          Buffer.from('{"text":"'),
          Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]),
          Buffer.from('"}'),
        ]),
    ],
    ['lone surrogates', () => '{"text":"\\ud800\\udfff\\udc00","k\\u0000":"\\u0000"}'],
    ['proto keys', () => '{"__proto__":{"x":1},"constructor":{"prototype":{"y":2}}}'],
    ['escaped proto keys', () => '{"\\u005f_proto__":{"x":1}}'],
    ['duplicate keys', () => `{"ref":"a",${'"ref":"b",'.repeat(int(rng, 5000))}"ref":"c"}`],
    ['BOM', () => '\ufeff{"ref":"refs/heads/main"}'],
    ['ReDoS text', () => `{"text":"${'a'.repeat(int(rng, 40_000))}b"}`],
    ['amplifying nest', () => JSON.stringify(nest(int(rng, 8), int(rng, 4) + 1))],
    ['repeated form fields', () => 'a=1&'.repeat(int(rng, 60_000))],
    [
      'form with JSON payload',
      () => `payload=${encodeURIComponent('{"a":'.repeat(int(rng, 100)))}`,
    ],
    ['form with bad escapes', () => 'a=%ff&b=%&c=%zz&%=1&token=%00'],
    ['the secret in a broken JSON body', () => `{"leak": "${secret}" oops`],
    ['the secret, upper-cased, in a body', () => `{"text":"${secret.toUpperCase()}"`],
    ['NUL bytes', () => Buffer.alloc(int(rng, 1024))],
    ['empty', () => ''],
    ['whitespace', () => ' \r\n\t '.repeat(int(rng, 100))],
    ['a large body', () => `{"a":"${'x'.repeat(300_000 + int(rng, 300_000))}"}`],
  ];
  const [kind, make] = pick(rng, choices);
  const made = make();
  return [kind, Buffer.isBuffer(made) ? made : Buffer.from(made)];
}

function nest(depth: number, width: number): unknown {
  if (depth === 0) return 'leaf-value';
  const node: Record<string, unknown> = {};
  for (let i = 0; i < width; i += 1) node[`k${i}`] = nest(depth - 1, width);
  return node;
}

function request(
  method: string,
  path: string,
  headers: [string, string][],
  body: Buffer,
  framing: 'length' | 'none' | 'chunked' = 'length',
): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (framing === 'length') lines.push(`Content-Length: ${body.length}`);
  if (framing === 'chunked') lines.push('Transfer-Encoding: chunked');
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (framing !== 'chunked') return Buffer.concat([head, body]);
  return Buffer.concat([
    head,
    Buffer.from(`${body.length.toString(16)}\r\n`),
    body,
    Buffer.from('\r\n0\r\n\r\n'),
  ]);
}

/** Headers that sign `body` for a source, or nearly (a wrong one now and then). */
function signing(rng: Rng, source: string, body: Buffer, secrets: FuzzSecrets): [string, string][] {
  const tamper = int(rng, 5) === 0;
  const key = tamper ? `${secrets.github}x` : secrets.github;
  if (source === 'github') {
    const sig = createHmac('sha256', key).update(body).digest('hex');
    return [
      ['X-Hub-Signature-256', `sha256=${sig}`],
      ['X-GitHub-Event', pick(rng, ['push', 'ping', 'issues', ''])],
      ['X-GitHub-Delivery', `fuzz-${int(rng, 1e9)}`],
    ];
  }
  if (source === 'stripe') {
    const t = Math.floor(Date.now() / 1000) - (tamper ? 100_000 : 0);
    const sig = createHmac('sha256', secrets.stripe).update(`${t}.`).update(body).digest('hex');
    return [['Stripe-Signature', `t=${t},v1=${sig}`]];
  }
  if (source === 'form') return [['X-Token', tamper ? 'wrong' : secrets.formToken]];
  return [];
}

/** Headers a sender should not be able to use against flowhook (and secrets it must not echo). */
function trickHeaders(rng: Rng, secrets: FuzzSecrets): [string, string][] {
  const secret = pick(rng, Object.values(secrets));
  const choices: (() => [string, string][])[] = [
    () => [['Content-Encoding', pick(rng, ENCODINGS)]],
    () => [['Expect', '100-continue']],
    () => [['X-Text', `${'a'.repeat(int(rng, 5000))}b`]],
    () => [
      ['X-Api-Key', secret],
      ['X-Credential', secret.toUpperCase()],
    ],
    () => [['Authorization', `Basic ${Buffer.from(`u:${secret}`).toString('base64')}`]],
    () => [['X-Anything', secret]],
    () =>
      Array.from({ length: int(rng, 300) }, (_, i) => [`X-Flood-${i}`, 'v'] as [string, string]),
    () => [['X-Big', 'b'.repeat(int(rng, 20_000))]],
    () => [
      [
        'Traceparent',
        pick(rng, ['00-zz-zz-01', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`, 'x'.repeat(500)]),
      ],
    ],
    () => [['Idempotency-Key', pick(rng, ['', ' ', 'k'.repeat(5000)])]],
    () => [
      ['X-Forwarded-Proto', 'gopher'],
      ['X-Forwarded-Host', 'evil.example:99999'],
    ],
    () => [
      ['Content-Type', 'application/json'],
      ['Content-Type', 'text/plain'],
    ],
  ];
  return int(rng, 3) === 0 ? [] : pick(rng, choices)();
}

/** One hostile request; about half are signed, so they reach parsing, routing and extraction. */
export function hostileRequest(rng: Rng, secrets: FuzzSecrets): HostileRequest {
  const roll = int(rng, 100);
  if (roll < 4) return { kind: 'garbage bytes', bytes: bytes(rng, 1 + int(rng, 2048)) };
  if (roll < 8) {
    const [kind, body] = hostileBody(rng, secrets);
    const announced = body.length + 1 + int(rng, 5000);
    const head = `POST /hooks/open HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${announced}\r\n\r\n`;
    return {
      kind: `framing: content-length larger than the body (${kind})`,
      bytes: Buffer.concat([Buffer.from(head), body]),
    };
  }
  if (roll < 11) {
    const tricks = [
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
      'POST /hooks/open HTTP/1.0\r\n\r\n{}',
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}POST /hooks/open HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      'POST /hooks/open HTTP/9.9\r\nHost: x\r\n\r\n',
      'POST /hooks/open\r\n\r\n',
      'POST  /hooks/open  HTTP/1.1\r\n\r\n',
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n',
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n',
      'POST /hooks/open HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}',
      'POST /hooks/open HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    ];
    return { kind: 'framing: malformed HTTP', bytes: Buffer.from(pick(rng, tricks), 'latin1') };
  }
  const method = roll < 16 ? pick(rng, METHODS) : 'POST';
  const source = pick(rng, SOURCES);
  const path =
    roll < 24
      ? pick(rng, PATHS)
      : `/hooks/${source}${int(rng, 4) === 0 ? `?token=${int(rng, 2) ? secrets.formToken : 'x'}&key=${pick(rng, Object.values(secrets))}` : ''}`;
  const [kind, body] = hostileBody(rng, secrets);
  const contentType =
    int(rng, 4) === 0
      ? pick(rng, CONTENT_TYPES)
      : kind.includes('form')
        ? 'application/x-www-form-urlencoded'
        : 'application/json';
  const headers: [string, string][] = [
    ...(contentType === '' ? [] : [['Content-Type', contentType] as [string, string]]),
    ...signing(rng, source, body, secrets),
    ...trickHeaders(rng, secrets),
  ];
  const framing = int(rng, 10) === 0 ? 'chunked' : 'length';
  return { kind: `${method} ${kind}`, bytes: request(method, path, headers, body, framing) };
}
