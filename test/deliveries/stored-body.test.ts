import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import type { DeliveryStore } from '../../src/deliveries/types';
import { toStoredRequest } from '../../src/pipeline/stored-request';
import { createSecretRedactor, REDACTED } from '../../src/redact/create-secret-redactor';
import { redactingStore } from '../../src/redact/redacting-store';
import { cleanup, created, mustGet, newDelivery, tempDir } from './support';

// The body toStoredRequest made, stored through the redacting store: byte-exact (bytes that are
// not UTF-8 too), whether or not redaction rebuilt the request, capped when asked, and a
// bodyBase64 that is not canonical base64 refused.
const DAY = 86_400_000;
const OTHER_SECRET = 'another-source-secret-0123456789';

let dir: string;
let inner: DeliveryStore;
let store: DeliveryStore;

beforeEach(() => {
  dir = tempDir();
  inner = openSqliteStore({ dataDir: dir });
  store = redactingStore(inner, () => createSecretRedactor([OTHER_SECRET]));
});

afterEach(async () => {
  await inner.close();
  cleanup(dir);
});

const BYTES = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x80, 0x22, 0xc3, 0x28, 0x7d, 0x0a]);

function stored(headers: Record<string, string>, bodyCap?: number) {
  return toStoredRequest(
    { method: 'POST', path: '/hooks/github?x=1', headers, rawBody: BYTES },
    [],
    bodyCap,
  );
}

it('stores the received bytes exactly', async () => {
  const record = await created(
    store.create(newDelivery({ request: stored({ 'content-type': 'application/json' }) }), DAY),
  );
  const read = await mustGet(store, record.id);
  expect(Buffer.from(read.request.bodyBase64, 'base64').equals(BYTES)).toBe(true);
  expect(read.request.bodyBytes).toBe(BYTES.length);
});

it('stores the bytes exactly when redaction by value rebuilds the request, and still redacts', async () => {
  const record = await created(
    store.create(newDelivery({ request: stored({ 'x-innocent': `v ${OTHER_SECRET}` }) }), DAY),
  );
  const read = await mustGet(store, record.id);
  expect(read.request.headers['x-innocent']).toBe(REDACTED);
  expect(JSON.stringify(read)).not.toContain(OTHER_SECRET);
  expect(Buffer.from(read.request.bodyBase64, 'base64').equals(BYTES)).toBe(true);
});

it('stores a capped body as the first bytes only', async () => {
  const record = await created(store.create(newDelivery({ request: stored({}, 4) }), DAY));
  const read = await mustGet(store, record.id);
  expect(Buffer.from(read.request.bodyBase64, 'base64').equals(BYTES.subarray(0, 4))).toBe(true);
  expect(read.request).toMatchObject({ bodyBytes: BYTES.length, bodyTruncated: true });
});

it('checks a body changed after toStoredRequest made it, as any other', async () => {
  const request = stored({});
  const changed = Buffer.from('changed');
  const copy = { ...request, bodyBase64: changed.toString('base64') };
  const record = await created(store.create(newDelivery({ request: copy }), DAY));
  expect(Buffer.from((await mustGet(store, record.id)).request.bodyBase64, 'base64')).toEqual(
    changed,
  );
  await expect(
    store.create(newDelivery({ request: { ...request, bodyBase64: 'e30' } }), DAY),
  ).rejects.toThrow(/not canonical base64/);
});
