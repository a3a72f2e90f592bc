import pg from 'pg';
import request from 'supertest';
import { openPostgresStore } from '../../src/deliveries/postgres/open-postgres-store';
import { POSTGRES_MIGRATIONS } from '../../src/deliveries/postgres/postgres-migrations';
import type { DeliveryStore } from '../../src/deliveries/types';
import { buildApp, type TestApp } from '../support/harness';
import { createTestDatabase, POSTGRES_ADMIN_URL, type TestDatabase } from '../support/postgres';

// Issue 11: the database going away under a running instance. Requests that cannot be stored
// get 503 store_unavailable with Retry-After (never 500), /readyz says not ready, and both come
// back by themselves when the database does (no restart).
const FILES = {
  'async.yaml': `
mode: async
verify: { provider: token, header: X-Token, secret: tok }
routes: [{ name: r, flow: async-flow, variables: { n: $.n } }]
`,
};

let database: TestDatabase;
let store: DeliveryStore;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  store = await openPostgresStore({ url: database.url, poolSize: 2 });
  t = buildApp({ files: FILES, store });
});

afterAll(async () => {
  await store.close();
  await database.drop();
});

const post = (n: number) =>
  request(t.app)
    .post('/hooks/async')
    .set('X-Token', 'tok')
    .type('json')
    .send(JSON.stringify({ n }));

/** Refuses new connections to the test database and ends the open ones (an outage). */
async function outage(on: boolean): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE ${database.name} WITH ALLOW_CONNECTIONS ${!on}`);
    if (on) {
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`,
        [database.name],
      );
    }
  } finally {
    await admin.end();
  }
}

describe('the PostgreSQL store unavailable under a running app (issue 11)', () => {
  it('answers 503 store_unavailable with Retry-After, is not ready, and recovers by itself', async () => {
    expect((await post(1)).status).toBe(202);
    const ready = await request(t.app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.store).toEqual({
      reachable: true,
      engine: 'postgres',
      schemaVersion: POSTGRES_MIGRATIONS.length,
    });

    await outage(true);
    try {
      const refused = await post(2);
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ code: 'store_unavailable' });
      expect(refused.headers['retry-after']).toBe('5');
      const notReady = await request(t.app).get('/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatchObject({ status: 'unavailable', store: { reachable: false } });
      expect(t.logs.text()).toContain('the delivery store failed');
    } finally {
      await outage(false);
    }

    const back = await post(3);
    expect(back.status).toBe(202);
    expect((await request(t.app).get('/readyz')).status).toBe(200);
    // Two stored (1 and 3), nothing half-written from the refused one.
    expect((await store.counts()).queued).toBe(2);
  });
});
