import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import type { DeliveryStore } from '../../src/deliveries/types';
import { createSecretRedactor } from '../../src/redact/create-secret-redactor';
import { redactingStore } from '../../src/redact/redacting-store';
import { cleanup, newDelivery, tempDir } from '../deliveries/support';

const SECRET = 'source-secret-never-stored';

describe('redactingStore: a last error is redacted in every write that carries one', () => {
  let dir: string;
  let inner: DeliveryStore;
  let store: DeliveryStore;
  beforeEach(() => {
    dir = tempDir();
    inner = openSqliteStore({ dataDir: dir });
    store = redactingStore(inner, () => createSecretRedactor([SECRET]));
  });
  afterEach(async () => {
    await inner.close();
    cleanup(dir);
  });

  it('create: a refusal stored with its reason keeps the secret out (issue 10 item 4)', async () => {
    const input = newDelivery({
      state: 'failed',
      lastError: { code: 'invalid_body', message: `the body is not valid JSON (${SECRET})` },
    });
    await store.create(input, 0);
    expect((await inner.get(input.id))?.lastError).toEqual({
      code: 'invalid_body',
      message: 'the body is not valid JSON ([redacted])',
    });
  });

  it('update: the last error and the attempts’ errors', async () => {
    const input = newDelivery();
    await store.create(input, 0);
    const error = { code: 'upstream_error', message: `the flow API answered 401: ${SECRET}` };
    await store.update(
      input.id,
      { state: 'failed', lastError: error },
      {
        attempts: [
          { startedAt: 1, durationMs: 1, route: 'push', flowId: 'f', outcome: 'failed', error },
        ],
      },
    );
    const stored = JSON.stringify(await inner.get(input.id));
    expect(stored).not.toContain(SECRET);
    expect(stored.match(/the flow API answered 401: \[redacted\]/g)).toHaveLength(2);
  });
});
