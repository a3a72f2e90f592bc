import path from 'node:path';
import Database from 'better-sqlite3';
import { openPostgresStore } from '../../src/deliveries/postgres/open-postgres-store';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import type { DeliveryRecord, DeliveryStore, NewDelivery } from '../../src/deliveries/types';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { attempt, cleanup, created, mustGet, newDelivery, tempDir } from './support';

/**
 * The delivery store contract (src/deliveries/types.ts), run against every implementation: the
 * embedded SQLite store (a file in a temp folder per test) and the PostgreSQL store (a database of
 * this file's own on 127.0.0.1:5432, emptied between tests, dropped after).
 */
interface StoreUnderTest {
  readonly name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** An empty store. */
  open(now: () => number): Promise<DeliveryStore>;
  /** The same data again, after close(). */
  reopen(now: () => number): Promise<DeliveryStore>;
  afterEach(): Promise<void>;
  /** What create() rejects with for an id already stored. */
  readonly duplicateId: Record<string, unknown>;
  /** After close(): which deliveries have attempts, and which idempotency keys are left. */
  leftovers(): Promise<{ attemptsOf: string[]; keys: string[] }>;
}

function sqlite(): StoreUnderTest {
  let dir = '';
  return {
    name: 'sqlite',
    setUp: async () => undefined,
    tearDown: async () => undefined,
    async open(now) {
      dir = tempDir();
      return openSqliteStore({ dataDir: dir, now });
    },
    reopen: async (now) => openSqliteStore({ dataDir: dir, now }),
    afterEach: async () => cleanup(dir),
    // Not `.rejects.toThrow()`: better-sqlite3's SqliteError may come from another test file's
    // realm (the native addon keeps the first one a jest worker loaded), and then it is no
    // `instanceof Error` here and toThrow() sees nothing thrown.
    duplicateId: { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' },
    async leftovers() {
      const db = new Database(path.join(dir, 'flowhook.db'), { readonly: true });
      try {
        return {
          attemptsOf: db
            .prepare('SELECT DISTINCT delivery_id FROM attempts ORDER BY 1')
            .pluck()
            .all() as string[],
          keys: db.prepare('SELECT key FROM idempotency_keys ORDER BY 1').pluck().all() as string[],
        };
      } finally {
        db.close();
      }
    },
  };
}

function postgres(): StoreUnderTest {
  let database: TestDatabase;
  return {
    name: 'postgres',
    async setUp() {
      database = await createTestDatabase();
    },
    tearDown: () => database.drop(),
    async open(now) {
      const store = await openPostgresStore({ url: database.url, now, poolSize: 4 });
      await database.reset();
      return store;
    },
    reopen: (now) => openPostgresStore({ url: database.url, now, poolSize: 4 }),
    afterEach: async () => undefined,
    duplicateId: { code: '23505', constraint: 'deliveries_pkey' },
    async leftovers() {
      const attemptsOf = await database.sql<{ id: string }>(
        'SELECT DISTINCT delivery_id AS id FROM attempts ORDER BY 1',
      );
      const keys = await database.sql<{ key: string }>(
        'SELECT key FROM idempotency_keys ORDER BY 1',
      );
      return { attemptsOf: attemptsOf.map((r) => r.id), keys: keys.map((r) => r.key) };
    },
  };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each([sqlite(), postgres()])('$name store', (kind) => {
  let store: DeliveryStore;
  let clock: number;

  beforeAll(() => kind.setUp());
  afterAll(() => kind.tearDown());

  beforeEach(async () => {
    clock = 1_800_000_000_000;
    store = await kind.open(() => clock);
  });

  afterEach(async () => {
    await store.close();
    await kind.afterEach();
  });

  describe('create and get', () => {
    it('round-trips every field, with a byte-exact binary body', async () => {
      const body = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0x0d, 0xed, 0xa0, 0x80]);
      const input: NewDelivery = {
        id: 'dlv_1',
        source: 'stripe',
        idempotencyKey: 'evt_123',
        mode: 'sync',
        state: 'running',
        receivedAt: 1_799_999_999_123,
        mappingVersion: 'sha256:0123456789abcdef',
        request: {
          method: 'POST',
          url: '/hooks/stripe?token=[redacted]&x=%C3%A9',
          headers: { 'content-type': 'application/octet-stream', 'stripe-signature': '[redacted]' },
          bodyBase64: body.toString('base64'),
          bodyBytes: 4096,
          bodyTruncated: true,
        },
        routes: [
          {
            route: 'paid',
            flowId: 'flow-a',
            orgId: 'org-1',
            variables: { amount: 12.5, tags: ['a', 'é', '😀'], nested: { ok: true, none: null } },
          },
          { route: 'audit', flowId: 'flow-b', orgId: 'org-2', variables: null },
        ],
        lease: { owner: 'sync:pid-1', until: 1_800_000_010_000 },
        nextAttemptAt: null,
      };
      const record = await created(store.create(input, DAY));
      const expected: DeliveryRecord = {
        ...input,
        updatedAt: clock,
        answer: null,
        attempts: [],
        nextAttemptAt: null,
        lease: { owner: 'sync:pid-1', until: 1_800_000_010_000 },
        lastError: null,
        lateAnswer: null,
      };
      expect(record).toEqual(expected);
      expect(await store.get('dlv_1')).toEqual(expected);
      const stored = await mustGet(store, 'dlv_1');
      expect(Buffer.from(stored.request.bodyBase64, 'base64').equals(body)).toBe(true);

      // And after reopening.
      await store.close();
      store = await kind.reopen(() => clock);
      expect(await store.get('dlv_1')).toEqual(expected);
    });

    it('keeps an empty body and defaults lease, nextAttemptAt and answer to null', async () => {
      const input = newDelivery({
        request: { ...newDelivery().request, bodyBase64: '', bodyBytes: 0 },
      });
      const record = await created(store.create(input, DAY));
      expect(record.request.bodyBase64).toBe('');
      expect(record.lease).toBeNull();
      expect(record.nextAttemptAt).toBeNull();
      expect(record.answer).toBeNull();
      expect(await store.get(input.id)).toEqual(record);
    });

    it('stores an answer given with the new delivery, in the same write', async () => {
      const answer = { status: 202, body: { accepted: true, ids: ['a', 'é'] } };
      const input = newDelivery({ answer, idempotencyKey: 'k-answer' });
      const record = await created(store.create(input, DAY));
      expect(record.answer).toEqual(answer);
      expect(await store.get(input.id)).toEqual(record);
      expect((await mustGet(store, input.id)).answer).toEqual(answer);
      // A repeat gets that answer back.
      const repeat = await store.create(
        newDelivery({ idempotencyKey: 'k-answer', receivedAt: input.receivedAt + 1 }),
        DAY,
      );
      expect(!repeat.created && repeat.existing.answer).toEqual(answer);

      // And it survives reopening.
      await store.close();
      store = await kind.reopen(() => clock);
      expect((await mustGet(store, input.id)).answer).toEqual(answer);
    });

    it("stores a refusal's last error given with the new delivery, in the same write (issue 10)", async () => {
      const lastError = { code: 'missing_variables', message: 'required variable "id" is missing' };
      const input = newDelivery({ state: 'failed', lastError });
      expect((await created(store.create(input, DAY))).lastError).toEqual(lastError);
      expect((await mustGet(store, input.id)).lastError).toEqual(lastError);
      const failed = await store.list({ state: 'failed', limit: 10 });
      expect(failed.items.map((d) => d.lastError)).toEqual([lastError]);
      // Without one it is null, as before.
      const plain = newDelivery();
      expect((await created(store.create(plain, DAY))).lastError).toBeNull();
      expect((await mustGet(store, plain.id)).lastError).toBeNull();
    });

    it('an explicit null answer is stored as none', async () => {
      const input = newDelivery({ answer: null });
      expect((await created(store.create(input, DAY))).answer).toBeNull();
      expect((await mustGet(store, input.id)).answer).toBeNull();
    });

    it('refuses a body that is not canonical base64 rather than lose bytes', async () => {
      const input = newDelivery({ request: { ...newDelivery().request, bodyBase64: 'ab$cd' } });
      await expect(store.create(input, DAY)).rejects.toThrow(/not canonical base64/);
      expect(await store.get(input.id)).toBeUndefined();
    });

    it('returns undefined for an unknown id', async () => {
      expect(await store.get('nope')).toBeUndefined();
    });

    it('refuses a duplicate id', async () => {
      const input = newDelivery();
      await store.create(input, DAY);
      await expect(
        store.create({ ...input, receivedAt: input.receivedAt + 1 }, DAY),
      ).rejects.toMatchObject(kind.duplicateId);
      expect((await mustGet(store, input.id)).receivedAt).toBe(input.receivedAt);
    });
  });

  describe('update', () => {
    it('changes only the fields given, sets updatedAt, and null clears', async () => {
      const d = await created(store.create(newDelivery({ lease: { owner: 'w1', until: 5 } }), DAY));
      clock += 1000;
      const result = await store.update(d.id, {
        state: 'succeeded',
        answer: { status: 200, body: { sessionId: 's-1' } },
        lastError: { code: 'E_HTTP', message: 'flow API 503' },
        nextAttemptAt: 123,
      });
      expect(result).toEqual({ applied: true, attempts: [] });
      const updated = await store.get(d.id);
      expect(updated).toEqual({
        ...d,
        state: 'succeeded',
        answer: { status: 200, body: { sessionId: 's-1' } },
        lastError: { code: 'E_HTTP', message: 'flow API 503' },
        nextAttemptAt: 123,
        updatedAt: clock,
      });
      await store.update(d.id, {
        lease: null,
        lastError: null,
        nextAttemptAt: null,
        routes: [],
        mappingVersion: 'sha256:new',
      });
      expect(await store.get(d.id)).toEqual({
        ...updated,
        lease: null,
        lastError: null,
        nextAttemptAt: null,
        routes: [],
        mappingVersion: 'sha256:new',
      });
      expect(await store.get(d.id)).toMatchObject({
        state: 'succeeded',
        answer: { status: 200, body: { sessionId: 's-1' } },
      });
    });

    it('a late answer (issue 16) is kept as written and cleared with null', async () => {
      const d = await created(store.create(newDelivery(), DAY));
      const lateAnswer = {
        state: 'failed' as const,
        origin: 'https://hooks.slack.com',
        attempts: 3,
        httpStatus: 503,
        reason: 'the receiver answered 503',
        at: 1_800_000_000_000,
      };
      await store.update(d.id, { lateAnswer });
      expect((await store.get(d.id))?.lateAnswer).toEqual(lateAnswer);
      await store.update(d.id, { lateAnswer: null });
      expect((await store.get(d.id))?.lateAnswer).toBeNull();
    });

    it('rejects an unknown id, with or without attempts, and writes nothing', async () => {
      await expect(store.update('nope', { state: 'dead' })).rejects.toThrow(
        /delivery nope not found/,
      );
      await expect(store.update('nope', {}, { attempts: [attempt()] })).rejects.toThrow(
        /delivery nope not found/,
      );
      await expect(
        store.update('nope', { state: 'dead' }, { owner: 'w1', attempts: [attempt()] }),
      ).rejects.toThrow(/delivery nope not found/);
      expect(await store.get('nope')).toBeUndefined();
    });

    it('numbers attempts 1, 2, … per delivery and returns them in order with the record', async () => {
      const a = await created(store.create(newDelivery(), DAY));
      const b = await created(store.create(newDelivery(), DAY));
      const first = await store.update(
        a.id,
        {},
        {
          attempts: [
            {
              startedAt: 1000,
              durationMs: 12.75,
              route: 'push',
              flowId: 'flow-1',
              outcome: 'failed',
              httpStatus: 503,
              error: { code: 'E_UPSTREAM', message: 'Service Unavailable' },
            },
          ],
        },
      );
      clock += 5;
      const second = await store.update(
        a.id,
        {},
        {
          attempts: [
            {
              startedAt: 2000,
              durationMs: 40,
              route: 'push',
              flowId: 'flow-1',
              outcome: 'succeeded',
              httpStatus: 200,
              sessionId: 'sess-9',
            },
          ],
        },
      );
      const other = await store.update(
        b.id,
        {},
        {
          attempts: [
            {
              startedAt: 3000,
              durationMs: 1,
              route: 'push',
              flowId: 'flow-1',
              outcome: 'failed',
              error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
            },
          ],
        },
      );
      expect([first, second, other].map((r) => r.attempts.map((x) => x.number))).toEqual([
        [1],
        [2],
        [1],
      ]);
      const stored = await mustGet(store, a.id);
      expect(stored.attempts).toEqual([...first.attempts, ...second.attempts]);
      expect(stored.attempts[0]).not.toHaveProperty('sessionId');
      expect(stored.attempts[1]).not.toHaveProperty('error');
      expect(stored.updatedAt).toBe(clock);
      expect((await mustGet(store, b.id)).attempts).toEqual(other.attempts);
      expect((await mustGet(store, b.id)).attempts[0]).not.toHaveProperty('httpStatus');
    });

    it('appends several attempts in one call, numbered in order after the existing ones', async () => {
      const d = await created(store.create(newDelivery(), DAY));
      const [a1, a2, a3, a4] = [
        attempt(),
        attempt({ route: 'audit', flowId: 'flow-2' }),
        attempt({ outcome: 'succeeded', httpStatus: 200, sessionId: 's-3' }),
        attempt({ error: { code: 'E_TIMEOUT', message: 'timed out' } }),
      ];
      const first = await store.update(d.id, {}, { attempts: [a1] });
      expect(first).toEqual({ applied: true, attempts: [{ ...a1, number: 1 }] });

      const more = await store.update(d.id, { state: 'failed' }, { attempts: [a2, a3, a4] });
      expect(more).toEqual({
        applied: true,
        attempts: [
          { ...a2, number: 2 },
          { ...a3, number: 3 },
          { ...a4, number: 4 },
        ],
      });
      const stored = await mustGet(store, d.id);
      expect(stored.state).toBe('failed');
      expect(stored.attempts).toEqual([...first.attempts, ...more.attempts]);
    });

    it('an empty attempts list appends nothing', async () => {
      const d = await created(store.create(newDelivery(), DAY));
      expect(await store.update(d.id, { state: 'failed' }, { attempts: [] })).toEqual({
        applied: true,
        attempts: [],
      });
      expect((await mustGet(store, d.id)).attempts).toEqual([]);
    });
  });

  describe('update with owner', () => {
    async function heldBy(owner: string): Promise<DeliveryRecord> {
      return created(
        store.create(
          newDelivery({ state: 'running', lease: { owner, until: clock + 60_000 } }),
          DAY,
        ),
      );
    }

    it('applies the patch while that owner holds the running delivery', async () => {
      const d = await heldBy('w1');
      clock += 1000;
      const a = attempt({ outcome: 'succeeded', httpStatus: 200, sessionId: 's-1' });
      const result = await store.update(
        d.id,
        { state: 'succeeded', lease: null, answer: { status: 200, body: { ok: true } } },
        { owner: 'w1', attempts: [a] },
      );
      expect(result).toEqual({ applied: true, attempts: [{ ...a, number: 1 }] });
      expect(await store.get(d.id)).toEqual({
        ...d,
        state: 'succeeded',
        lease: null,
        answer: { status: 200, body: { ok: true } },
        attempts: [{ ...a, number: 1 }],
        updatedAt: clock,
      });
    });

    it('applies with an empty patch too (the holder only records an attempt)', async () => {
      const d = await heldBy('w1');
      const a = attempt();
      expect(await store.update(d.id, {}, { owner: 'w1', attempts: [a] })).toEqual({
        applied: true,
        attempts: [{ ...a, number: 1 }],
      });
    });

    it('does not apply when another owner holds it, but appends and numbers the attempts', async () => {
      const d = await heldBy('w2');
      const earlier = await store.update(d.id, {}, { attempts: [attempt()] });
      const before = await mustGet(store, d.id);
      clock += 1000;
      const [a2, a3] = [attempt(), attempt({ outcome: 'succeeded', httpStatus: 201 })];
      const result = await store.update(
        d.id,
        {
          state: 'queued',
          lease: null,
          nextAttemptAt: 5,
          lastError: { code: 'E', message: 'stale holder' },
          answer: { status: 500, body: null },
        },
        { owner: 'w1', attempts: [a2, a3] },
      );
      expect(result).toEqual({
        applied: false,
        attempts: [
          { ...a2, number: 2 },
          { ...a3, number: 3 },
        ],
      });
      const after = await mustGet(store, d.id);
      expect(after).toMatchObject({
        state: 'running',
        lease: { owner: 'w2', until: before.lease!.until },
        nextAttemptAt: before.nextAttemptAt,
        lastError: before.lastError,
        answer: before.answer,
      });
      expect(after.attempts).toEqual([...earlier.attempts, ...result.attempts]);
      expect(await store.counts()).toMatchObject({ running: 1, queued: 0 });
    });

    it('does not apply when the delivery is no longer running, even under its old lease', async () => {
      const d = await heldBy('w1');
      // Finished with its lease left in place: state is no longer running.
      await store.update(d.id, { state: 'succeeded' });
      expect((await mustGet(store, d.id)).lease).toMatchObject({ owner: 'w1' });
      const a = attempt();
      const result = await store.update(
        d.id,
        { state: 'queued', nextAttemptAt: 7 },
        { owner: 'w1', attempts: [a] },
      );
      expect(result).toEqual({ applied: false, attempts: [{ ...a, number: 1 }] });
      expect(await mustGet(store, d.id)).toMatchObject({
        state: 'succeeded',
        nextAttemptAt: null,
        attempts: [{ ...a, number: 1 }],
      });
    });

    it('does not apply to a queued delivery nobody holds', async () => {
      const d = await created(store.create(newDelivery(), DAY));
      const result = await store.update(d.id, { state: 'succeeded' }, { owner: 'w1' });
      expect(result).toEqual({ applied: false, attempts: [] });
      expect((await mustGet(store, d.id)).state).toBe('queued');
    });

    it('a holder whose lease was taken over by claimDue no longer applies', async () => {
      const T = 1_700_000_100_000;
      const d = await created(store.create(newDelivery({ receivedAt: T }), DAY));
      expect((await store.claimDue(T, 1, 'crashed', 1000)).map((x) => x.id)).toEqual([d.id]);
      expect((await store.claimDue(T + 1000, 1, 'w2', 1000)).map((x) => x.id)).toEqual([d.id]);
      const late = await store.update(d.id, { state: 'failed' }, { owner: 'crashed' });
      expect(late.applied).toBe(false);
      const current = await store.update(d.id, { state: 'succeeded' }, { owner: 'w2' });
      expect(current.applied).toBe(true);
      expect((await mustGet(store, d.id)).state).toBe('succeeded');
    });
  });

  describe('claim', () => {
    it("'claimed': sets running, the lease, clears nextAttemptAt, and applies the patch", async () => {
      const d = await created(store.create(newDelivery({ state: 'dead' }), DAY));
      await store.update(d.id, {
        nextAttemptAt: 77,
        lastError: { code: 'E_GONE', message: 'retries exhausted' },
      });
      const before = await mustGet(store, d.id);
      clock += 1000;
      const routes = [{ route: 'replayed', flowId: 'flow-2', orgId: 'org-2', variables: { x: 1 } }];
      const outcome = await store.claim(d.id, {
        owner: 'admin',
        until: clock + 30_000,
        fromState: 'dead',
        patch: { routes, mappingVersion: 'sha256:new' },
      });
      expect(outcome).toBe('claimed');
      expect(await store.get(d.id)).toEqual({
        ...before,
        state: 'running',
        lease: { owner: 'admin', until: clock + 30_000 },
        nextAttemptAt: null,
        routes,
        mappingVersion: 'sha256:new',
        updatedAt: clock,
      });
      expect(await store.counts()).toMatchObject({ dead: 0, running: 1 });
      // The claimant holds it now.
      expect((await store.update(d.id, { state: 'succeeded' }, { owner: 'admin' })).applied).toBe(
        true,
      );
    });

    it('without a patch keeps routes and mapping version', async () => {
      const d = await created(store.create(newDelivery({ state: 'failed' }), DAY));
      expect(await store.claim(d.id, { owner: 'o', until: 9, fromState: 'failed' })).toBe(
        'claimed',
      );
      expect(await mustGet(store, d.id)).toMatchObject({
        state: 'running',
        lease: { owner: 'o', until: 9 },
        routes: d.routes,
        mappingVersion: d.mappingVersion,
      });
    });

    it('a patch with only routes keeps the mapping version', async () => {
      const d = await created(store.create(newDelivery({ state: 'failed' }), DAY));
      expect(
        await store.claim(d.id, {
          owner: 'o',
          until: 9,
          fromState: 'failed',
          patch: { routes: [] },
        }),
      ).toBe('claimed');
      expect(await mustGet(store, d.id)).toMatchObject({
        routes: [],
        mappingVersion: d.mappingVersion,
      });
    });

    it("'changed' when the state is no longer fromState, and changes nothing", async () => {
      const d = await created(store.create(newDelivery({ state: 'dead' }), DAY));
      const before = await mustGet(store, d.id);
      clock += 1000;
      expect(
        await store.claim(d.id, {
          owner: 'admin',
          until: clock + 1,
          fromState: 'failed',
          patch: { routes: [], mappingVersion: 'sha256:new' },
        }),
      ).toBe('changed');
      expect(await store.get(d.id)).toEqual(before);
    });

    it("'changed' when it is running, even if fromState says running", async () => {
      const d = await created(
        store.create(
          newDelivery({ state: 'running', lease: { owner: 'w1', until: clock + 5000 } }),
          DAY,
        ),
      );
      const before = await mustGet(store, d.id);
      expect(await store.claim(d.id, { owner: 'admin', until: 1, fromState: 'running' })).toBe(
        'changed',
      );
      expect(await store.get(d.id)).toEqual(before);
    });

    it('of two claims from one state at once, one claims and the other sees it', async () => {
      const d = await created(store.create(newDelivery({ state: 'dead' }), DAY));
      const outcomes = await Promise.all([
        store.claim(d.id, { owner: 'a', until: 1, fromState: 'dead' }),
        store.claim(d.id, { owner: 'b', until: 2, fromState: 'dead' }),
      ]);
      // SQLite commits them in one group, in order; PostgreSQL runs them on two connections.
      expect([...outcomes].sort()).toEqual(['changed', 'claimed']);
      const winner =
        outcomes[0] === 'claimed' ? { owner: 'a', until: 1 } : { owner: 'b', until: 2 };
      expect((await mustGet(store, d.id)).lease).toEqual(winner);
      expect(await store.claim(d.id, { owner: 'c', until: 3, fromState: 'dead' })).toBe('changed');
    });

    it("'changed' when an attempt was recorded since the caller read it, even in the same state", async () => {
      const d = await created(store.create(newDelivery({ state: 'dead' }), DAY));
      // Another process ran it meanwhile and left it dead again, one attempt later.
      await store.update(d.id, {}, { attempts: [attempt()] });
      expect(
        await store.claim(d.id, { owner: 'a', until: 1, fromState: 'dead', attempts: 0 }),
      ).toBe('changed');
      expect((await mustGet(store, d.id)).state).toBe('dead');
      expect(
        await store.claim(d.id, { owner: 'a', until: 1, fromState: 'dead', attempts: 1 }),
      ).toBe('claimed');
    });

    it("'missing' for an unknown id", async () => {
      expect(await store.claim('nope', { owner: 'a', until: 1, fromState: 'dead' })).toBe(
        'missing',
      );
      expect(await store.get('nope')).toBeUndefined();
    });
  });

  describe('idempotency', () => {
    it('a repeat within the window returns the first delivery and stores nothing', async () => {
      const first = await created(store.create(newDelivery({ idempotencyKey: 'k1' }), DAY));
      await store.update(first.id, { answer: { status: 202, body: { id: first.id } } });
      const repeat = newDelivery({ idempotencyKey: 'k1', receivedAt: first.receivedAt + DAY - 1 });
      const result = await store.create(repeat, DAY);
      expect(result.created).toBe(false);
      expect(!result.created && result.existing).toEqual(await store.get(first.id));
      expect(!result.created && result.existing.answer).toEqual({
        status: 202,
        body: { id: first.id },
      });
      expect(await store.get(repeat.id)).toBeUndefined();
      expect((await store.counts()).queued).toBe(1);
    });

    it('after the window the key may be reused, and the new delivery owns it', async () => {
      const first = await created(store.create(newDelivery({ idempotencyKey: 'k1' }), HOUR));
      const later = newDelivery({ idempotencyKey: 'k1', receivedAt: first.receivedAt + HOUR });
      expect((await store.create(later, HOUR)).created).toBe(true);
      const third = newDelivery({ idempotencyKey: 'k1', receivedAt: later.receivedAt + 10 });
      const result = await store.create(third, HOUR);
      expect(!result.created && result.existing.id).toBe(later.id);
      // The old delivery is still there, still with its key.
      expect((await store.get(first.id))?.idempotencyKey).toBe('k1');
    });

    it('the window is per call: a shorter window lets the same key through', async () => {
      const first = await created(store.create(newDelivery({ idempotencyKey: 'k1' }), DAY));
      const repeat = newDelivery({ idempotencyKey: 'k1', receivedAt: first.receivedAt + 60_000 });
      expect((await store.create(repeat, 60_000)).created).toBe(true);
    });

    it('different sources with one key are independent', async () => {
      const create = async (source: string) =>
        (await store.create(newDelivery({ source, idempotencyKey: 'k' }), DAY)).created;
      expect(await create('a')).toBe(true);
      expect(await create('b')).toBe(true);
      expect(await create('a')).toBe(false);
    });

    it('a null key never collides', async () => {
      for (let i = 0; i < 3; i++) {
        expect((await store.create(newDelivery({ idempotencyKey: null }), DAY)).created).toBe(true);
      }
      expect((await store.counts()).queued).toBe(3);
    });

    it('a key whose delivery was pruned is free again', async () => {
      const first = await created(
        store.create(newDelivery({ idempotencyKey: 'k', state: 'succeeded' }), 10 * DAY),
      );
      expect(await store.prune(first.receivedAt + 1, 100)).toBe(1);
      const again = newDelivery({ idempotencyKey: 'k', receivedAt: first.receivedAt + 2 });
      expect((await store.create(again, 10 * DAY)).created).toBe(true);
    });

    it('of creates with one key issued at once, exactly one creates; the others get it', async () => {
      const copies = [1, 2, 3, 4, 5].map((n) =>
        newDelivery({ idempotencyKey: 'same', answer: { status: 202, body: `copy ${n}` } }),
      );
      const results = await Promise.all(copies.map((copy) => store.create(copy, DAY)));
      const winners = results.filter((r) => r.created);
      expect(winners).toHaveLength(1);
      const first = winners[0].record;
      for (const r of results.filter((x) => !x.created)) {
        expect(!r.created && r.existing).toEqual(await store.get(first.id));
        expect(!r.created && r.existing.answer).toEqual(first.answer);
      }
      expect((await store.counts()).queued).toBe(1);
    });
  });

  describe('claimDue and renewLease', () => {
    const T = 1_700_000_100_000;

    it('claims due deliveries in order of due time, up to the limit, and leases them', async () => {
      const late = await created(store.create(newDelivery({ receivedAt: T - 50 }), DAY));
      const retry = await created(store.create(newDelivery({ receivedAt: T - 500 }), DAY));
      await store.update(retry.id, { nextAttemptAt: T - 10 });
      const early = await created(
        store.create(
          newDelivery({
            receivedAt: T - 100,
            answer: { status: 202, body: { state: 'queued' } },
            explanation: {
              mappingVersion: 'sha256:abc',
              file: 'github.yaml',
              dispatch: 'first',
              verification: { provider: 'github', secretIndex: 0 },
              routes: [{ name: 'push', held: true, conditions: [] }],
              matched: ['push'],
            },
          }),
          DAY,
        ),
      );
      const notYet = await created(store.create(newDelivery({ receivedAt: T - 900 }), DAY));
      await store.update(notYet.id, { nextAttemptAt: T + 1 });
      await store.create(newDelivery({ receivedAt: T - 1000, state: 'succeeded' }), DAY);
      await store.create(newDelivery({ receivedAt: T - 1000, state: 'dead' }), DAY);

      clock = T + 7;
      const first = await store.claimDue(T, 2, 'w1', 30_000);
      expect(first.map((d) => d.id)).toEqual([early.id, late.id]);
      for (const d of first) {
        expect(d).toMatchObject({
          state: 'running',
          lease: { owner: 'w1', until: T + 30_000 },
          nextAttemptAt: null,
          updatedAt: T + 7,
        });
      }
      // What a run needs, as get() reads it, without the request, answer and explanation.
      const { request, answer, explanation, ...claimedPart } = await mustGet(store, early.id);
      expect(request.bodyBase64).not.toBe('');
      expect(answer).toEqual({ status: 202, body: { state: 'queued' } });
      expect(explanation?.matched).toEqual(['push']);
      expect(first[0]).toEqual(claimedPart);
      expect(first[0]).not.toHaveProperty('request');
      expect(first[0]).not.toHaveProperty('answer');
      expect(first[0]).not.toHaveProperty('explanation');

      const second = await store.claimDue(T, 10, 'w2', 30_000);
      expect(second.map((d) => d.id)).toEqual([retry.id]);
      expect(await store.claimDue(T, 10, 'w3', 30_000)).toEqual([]);
      expect((await store.claimDue(T + 1, 10, 'w3', 30_000)).map((d) => d.id)).toEqual([notYet.id]);
      expect(await store.claimDue(T + 1, 0, 'w3', 30_000)).toEqual([]);
    });

    it('returns claimed deliveries with their attempts', async () => {
      const d = await created(store.create(newDelivery({ receivedAt: T }), DAY));
      await store.update(
        d.id,
        {},
        {
          attempts: [
            {
              startedAt: T,
              durationMs: 3,
              route: 'push',
              flowId: 'flow-1',
              outcome: 'failed',
              httpStatus: 503,
            },
          ],
        },
      );
      await store.update(d.id, { nextAttemptAt: T + 1000 });
      const [claimed] = await store.claimDue(T + 1000, 1, 'w1', 1000);
      expect(claimed.attempts).toHaveLength(1);
    });

    it('claims several at once, each with its own attempts', async () => {
      const retried = await created(store.create(newDelivery({ receivedAt: T - 20 }), DAY));
      const fresh = await created(store.create(newDelivery({ receivedAt: T - 10 }), DAY));
      await store.update(
        retried.id,
        { nextAttemptAt: T },
        {
          attempts: [1, 2].map((n) => ({
            startedAt: T - 20 + n,
            durationMs: 3,
            route: 'push',
            flowId: 'flow-1',
            outcome: 'failed' as const,
            httpStatus: 503,
          })),
        },
      );
      const claimed = await store.claimDue(T, 5, 'w1', 1000);
      expect(claimed.map((d) => [d.id, d.attempts.map((a) => a.number)])).toEqual([
        [fresh.id, []],
        [retried.id, [1, 2]],
      ]);
    });

    it('re-claims a delivery whose holder crashed once its lease expired', async () => {
      const d = await created(store.create(newDelivery({ receivedAt: T }), DAY));
      expect((await store.claimDue(T, 1, 'crashed', 1000)).map((x) => x.id)).toEqual([d.id]);
      expect(await store.claimDue(T + 999, 1, 'w2', 1000)).toEqual([]);
      const [again] = await store.claimDue(T + 1000, 1, 'w2', 1000);
      expect(again).toMatchObject({ id: d.id, state: 'running', lease: { owner: 'w2' } });
      // The crashed holder's renewal fails; the new holder's succeeds.
      expect(await store.renewLease(d.id, 'crashed', T + 5000)).toBe(false);
      expect(await store.renewLease(d.id, 'w2', T + 5000)).toBe(true);
      expect((await store.get(d.id))?.lease).toEqual({ owner: 'w2', until: T + 5000 });
      expect(await store.claimDue(T + 4999, 1, 'w3', 1000)).toEqual([]);
    });

    it('a running delivery created with a lease (sync) is claimable only when it expires', async () => {
      const d = await created(
        store.create(
          newDelivery({ receivedAt: T, state: 'running', lease: { owner: 'sync', until: T + 50 } }),
          DAY,
        ),
      );
      expect(await store.claimDue(T + 49, 5, 'w', 1000)).toEqual([]);
      expect((await store.claimDue(T + 50, 5, 'w', 1000)).map((x) => x.id)).toEqual([d.id]);
    });

    it('renewLease is false for an unknown id or a delivery no longer running', async () => {
      const d = await created(store.create(newDelivery({ receivedAt: T }), DAY));
      await store.claimDue(T, 1, 'w1', 1000);
      await store.update(d.id, { state: 'succeeded' });
      expect(await store.renewLease(d.id, 'w1', T + 9000)).toBe(false);
      expect(await store.renewLease('nope', 'w1', T + 9000)).toBe(false);
    });

    it('a final state is never due, whatever its nextAttemptAt or lease', async () => {
      const d = await created(store.create(newDelivery({ receivedAt: T }), DAY));
      await store.update(d.id, {
        state: 'dead',
        nextAttemptAt: T,
        lease: { owner: 'x', until: T },
      });
      expect(await store.claimDue(T + DAY, 10, 'w', 1000)).toEqual([]);
    });
  });

  describe('list', () => {
    async function seed(): Promise<DeliveryRecord[]> {
      return Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          created(
            store.create(
              newDelivery({
                // Groups of equal receivedAt, so the cursor must break ties by id.
                receivedAt: 1_000 + Math.floor(i / 3),
                source: i % 2 === 0 ? 'github' : 'stripe',
                state: i % 5 === 0 ? 'dead' : 'succeeded',
                routes:
                  i % 4 === 0
                    ? [
                        { route: 'deploy', flowId: 'f', orgId: 'o', variables: {} },
                        { route: 'notify', flowId: 'g', orgId: 'o', variables: {} },
                      ]
                    : [{ route: 'notify', flowId: 'g', orgId: 'o', variables: {} }],
              }),
              DAY,
            ),
          ),
        ),
      );
    }

    const newestFirst = (a: DeliveryRecord, b: DeliveryRecord) =>
      b.receivedAt - a.receivedAt || (a.id < b.id ? 1 : -1);

    it('filters by flow, by until and by a delivery id (the console, issue 13)', async () => {
      const all = await seed();
      const ids = (items: DeliveryRecord[]) => items.map((d) => d.id).sort();
      const byFlow = await store.list({ flowId: 'f', limit: 100 });
      expect(ids(byFlow.items)).toEqual(
        ids(all.filter((d) => d.routes.some((r) => r.flowId === 'f'))),
      );
      const before = await store.list({ until: 1_003, limit: 100 });
      expect(ids(before.items)).toEqual(ids(all.filter((d) => d.receivedAt < 1_003)));

      const keyed = await created(
        store.create(newDelivery({ id: 'abcdef12-3456', idempotencyKey: 'evt_contract' }), DAY),
      );
      for (const search of ['evt_contract', 'abcdef12-3456', 'abcdef12', 'ABCDEF12']) {
        expect(ids((await store.list({ search, limit: 10 })).items)).toEqual([keyed.id]);
      }
      // A prefix shorter than 8 characters, or with LIKE's wildcards, finds nothing.
      for (const search of ['abcdef1', 'abcdef%_', '%%%%%%%%']) {
        expect((await store.list({ search, limit: 10 })).items).toEqual([]);
      }
    });

    it('keeps the routing explanation and marks draft attempts (the console, issue 13)', async () => {
      const explanation = {
        mappingVersion: 'sha256:abc',
        file: 'github.yaml',
        dispatch: 'first' as const,
        verification: { provider: 'github', secretIndex: 1 },
        routes: [{ name: 'push', held: true, conditions: [] }],
        matched: ['push'],
      };
      const d = await created(store.create(newDelivery({ explanation }), DAY));
      expect((await store.get(d.id))?.explanation).toEqual(explanation);
      const plain = await created(store.create(newDelivery(), DAY));
      expect(await store.get(plain.id)).not.toHaveProperty('explanation');

      await store.update(d.id, {}, { attempts: [attempt(), attempt({ draft: true })] });
      const attempts = (await store.get(d.id))?.attempts ?? [];
      expect(attempts.map((a) => a.draft ?? false)).toEqual([false, true]);
    });

    it('returns newest first with the limit and a cursor', async () => {
      const all = (await seed()).sort(newestFirst);
      const page = await store.list({ limit: 5 });
      expect(page.items.map((d) => d.id)).toEqual(all.slice(0, 5).map((d) => d.id));
      expect(typeof page.nextCursor).toBe('string');
      expect((await store.list({ limit: 25 })).nextCursor).toBeNull();
    });

    it('pages through everything with no duplicate or gap, for each filter', async () => {
      const all = (await seed()).sort(newestFirst);
      const filters = [
        { expect: all },
        { source: 'github', expect: all.filter((d) => d.source === 'github') },
        { state: 'dead' as const, expect: all.filter((d) => d.state === 'dead') },
        {
          route: 'deploy',
          expect: all.filter((d) => d.routes.some((r) => r.route === 'deploy')),
        },
        { since: 1_004, expect: all.filter((d) => d.receivedAt >= 1_004) },
        {
          source: 'stripe',
          state: 'succeeded' as const,
          route: 'notify',
          since: 1_002,
          expect: all.filter(
            (d) => d.source === 'stripe' && d.state === 'succeeded' && d.receivedAt >= 1_002,
          ),
        },
      ];
      for (const { expect: wanted, ...filter } of filters) {
        for (const limit of [1, 2, 4, 100]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let pages = 0; pages < 100; pages++) {
            const page = await store.list({ ...filter, limit, cursor });
            seen.push(...page.items.map((d) => d.id));
            if (page.nextCursor === null) break;
            cursor = page.nextCursor;
          }
          expect(seen).toEqual(wanted.map((d) => d.id));
        }
      }
    });

    it('returns full records, attempts included', async () => {
      const [first] = await seed();
      await store.update(
        first.id,
        {},
        {
          attempts: [
            {
              startedAt: 1,
              durationMs: 2,
              route: 'notify',
              flowId: 'g',
              outcome: 'succeeded',
              sessionId: 's',
            },
          ],
        },
      );
      const items = (await store.list({ limit: 100 })).items;
      expect(items.find((d) => d.id === first.id)).toEqual(await store.get(first.id));
      expect(items.filter((d) => d.attempts.length > 0)).toHaveLength(1);
    });

    it('does not see deliveries created after the cursor was taken as a gap', async () => {
      await seed();
      const first = await store.list({ limit: 10 });
      await store.create(newDelivery({ receivedAt: 99_999 }), DAY);
      const second = await store.list({ limit: 10, cursor: first.nextCursor! });
      const ids = new Set([...first.items, ...second.items].map((d) => d.id));
      expect(ids.size).toBe(20);
    });

    it('refuses a bad cursor and a bad limit with a RangeError', async () => {
      await expect(store.list({ limit: 5, cursor: 'not-a-cursor' })).rejects.toThrow(RangeError);
      const bogus = Buffer.from('{"a":1}').toString('base64url');
      await expect(store.list({ limit: 5, cursor: bogus })).rejects.toThrow('invalid cursor');
      await expect(store.list({ limit: 0 })).rejects.toThrow(RangeError);
      await expect(store.list({ limit: 1.5 })).rejects.toThrow(RangeError);
    });
  });

  describe('prune', () => {
    it('deletes only final states received before the cutoff, at most `limit` per call', async () => {
      const old = 1_000;
      const states = ['queued', 'running', 'succeeded', 'failed', 'dead', 'ignored'] as const;
      const olds: DeliveryRecord[] = [];
      for (const [i, state] of states.entries()) {
        olds.push(
          await created(
            store.create(
              newDelivery({ state, receivedAt: old + i, idempotencyKey: `k-${state}` }),
              DAY,
            ),
          ),
        );
      }
      const recent = await created(
        store.create(newDelivery({ state: 'succeeded', receivedAt: 5_000 }), DAY),
      );
      for (const d of olds) {
        await store.update(
          d.id,
          {},
          {
            attempts: [{ startedAt: 1, durationMs: 1, route: 'r', flowId: 'f', outcome: 'failed' }],
          },
        );
      }

      expect(await store.prune(5_000, 3)).toBe(3);
      expect(await store.prune(5_000, 3)).toBe(1);
      expect(await store.prune(5_000, 3)).toBe(0);

      const left = (await store.list({ limit: 100 })).items.map((d) => d.id);
      expect(left.sort()).toEqual([olds[0].id, olds[1].id, recent.id].sort());
      expect(await store.counts()).toEqual({
        queued: 1,
        running: 1,
        succeeded: 1,
        failed: 0,
        dead: 0,
        ignored: 0,
      });
      await store.close();

      // Attempts and idempotency keys went with their deliveries.
      const leftovers = await kind.leftovers();
      expect(leftovers.attemptsOf).toEqual([olds[0].id, olds[1].id].sort());
      expect(leftovers.keys).toEqual(['k-queued', 'k-running']);
      store = await kind.reopen(() => clock);
    });

    it('deletes the oldest of a state first', async () => {
      const a = await created(store.create(newDelivery({ state: 'ignored', receivedAt: 3 }), DAY));
      await created(store.create(newDelivery({ state: 'ignored', receivedAt: 1 }), DAY));
      await created(store.create(newDelivery({ state: 'ignored', receivedAt: 2 }), DAY));
      expect(await store.prune(10, 2)).toBe(2);
      expect((await store.list({ limit: 10 })).items.map((d) => d.id)).toEqual([a.id]);
    });
  });

  describe('status', () => {
    it('names the engine and the schema version, never a password', async () => {
      const status = await store.status();
      expect(status.engine).toBe(kind.name);
      expect(status.schemaVersion).toBeGreaterThanOrEqual(1);
      expect(status.location).not.toMatch(/:[^/@]*@/);
    });
  });

  describe('counts', () => {
    it('counts by state, every state present, through create, update and prune', async () => {
      expect(await store.counts()).toEqual({
        queued: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        dead: 0,
        ignored: 0,
      });
      const a = await created(store.create(newDelivery(), DAY));
      await created(store.create(newDelivery(), DAY));
      await store.update(a.id, { state: 'failed' });
      await store.update(a.id, { state: 'failed' });
      expect(await store.counts()).toMatchObject({ queued: 1, failed: 1 });
      await store.prune(Number.MAX_SAFE_INTEGER, 10);
      expect(await store.counts()).toMatchObject({ queued: 1, failed: 0 });
    });
  });

  describe('oldestDueAt (the backlog age in /metrics, issue 12)', () => {
    const T = 1_700_000_200_000;

    it('is null with nothing due, then the due time of the longest-waiting due delivery', async () => {
      expect(await store.oldestDueAt(T)).toBeNull();
      await store.create(newDelivery({ receivedAt: T - 5000, state: 'dead' }), DAY);
      const later = await created(store.create(newDelivery({ receivedAt: T - 9000 }), DAY));
      await store.update(later.id, { nextAttemptAt: T + 60_000 });
      expect(await store.oldestDueAt(T)).toBeNull();
      await store.create(newDelivery({ receivedAt: T - 300 }), DAY);
      const retry = await created(store.create(newDelivery({ receivedAt: T - 8000 }), DAY));
      await store.update(retry.id, { nextAttemptAt: T - 700 });
      expect(await store.oldestDueAt(T)).toBe(T - 700);
      // A running delivery whose lease expired is due too (its holder crashed).
      const held = await created(
        store.create(
          newDelivery({
            receivedAt: T - 100,
            state: 'running',
            lease: { owner: 'w', until: T - 2000 },
          }),
          DAY,
        ),
      );
      expect(await store.oldestDueAt(T)).toBe(T - 2000);
      await store.update(held.id, { lease: { owner: 'w', until: T + 30_000 } });
      expect(await store.oldestDueAt(T)).toBe(T - 700);
      // Claimed: no longer waiting.
      await store.claimDue(T, 10, 'w2', 30_000);
      expect(await store.oldestDueAt(T)).toBeNull();
    });
  });

  describe('traceContext (issue 12)', () => {
    const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

    it('is stored with the delivery and read back by get, list and claimDue; absent when none', async () => {
      const traced = await created(
        store.create(newDelivery({ receivedAt: 1000, traceContext: TRACEPARENT }), DAY),
      );
      const plain = await created(store.create(newDelivery({ receivedAt: 2000 }), DAY));
      expect(traced.traceContext).toBe(TRACEPARENT);
      expect((await mustGet(store, traced.id)).traceContext).toBe(TRACEPARENT);
      expect((await mustGet(store, plain.id)).traceContext).toBeUndefined();
      const { items } = await store.list({ limit: 10 });
      expect(items.find((d) => d.id === traced.id)?.traceContext).toBe(TRACEPARENT);
      const claimed = await store.claimDue(10_000, 10, 'w', 30_000);
      expect(claimed.find((d) => d.id === traced.id)?.traceContext).toBe(TRACEPARENT);
    });

    it('goes in with the creates of one batch too', async () => {
      const results = await Promise.all(
        [0, 1, 2].map((i) =>
          store.create(
            newDelivery({ receivedAt: 1000 + i, traceContext: i === 1 ? TRACEPARENT : null }),
            DAY,
          ),
        ),
      );
      const ids = results.map((r) => (r.created ? r.record.id : ''));
      expect((await mustGet(store, ids[1])).traceContext).toBe(TRACEPARENT);
      expect((await mustGet(store, ids[0])).traceContext).toBeUndefined();
    });
  });

  describe('close', () => {
    it('a write after close rejects; closing again is harmless', async () => {
      const d = await created(store.create(newDelivery(), DAY));
      await store.close();
      const closed = 'the delivery store is closed';
      await expect(store.create(newDelivery(), DAY)).rejects.toThrow(closed);
      await expect(store.update(d.id, { state: 'dead' })).rejects.toThrow(closed);
      await expect(
        store.claim(d.id, { owner: 'o', until: 1, fromState: 'queued' }),
      ).rejects.toThrow(closed);
      await expect(store.claimDue(Number.MAX_SAFE_INTEGER, 1, 'w', 1)).rejects.toThrow(closed);
      await expect(store.renewLease(d.id, 'w', 1)).rejects.toThrow(closed);
      await expect(store.prune(Number.MAX_SAFE_INTEGER, 1)).rejects.toThrow(closed);
      // Reads fail too (the connection is gone), as a rejection rather than a throw.
      await expect(store.get(d.id)).rejects.toMatchObject({
        message: expect.stringMatching(/not open|closed/),
      });
      await expect(store.close()).resolves.toBeUndefined();

      store = await kind.reopen(() => clock);
      expect((await mustGet(store, d.id)).state).toBe('queued');
    });
  });

  describe('secrets', () => {
    it('stores exactly what it is given and logs nothing: redaction is the caller’s job', async () => {
      const writes: string[] = [];
      const spies = [
        jest.spyOn(process.stdout, 'write').mockImplementation((c) => !!writes.push(String(c))),
        jest.spyOn(process.stderr, 'write').mockImplementation((c) => !!writes.push(String(c))),
        jest.spyOn(console, 'log').mockImplementation((...a) => void writes.push(a.join(' '))),
        jest.spyOn(console, 'error').mockImplementation((...a) => void writes.push(a.join(' '))),
        jest.spyOn(console, 'warn').mockImplementation((...a) => void writes.push(a.join(' '))),
      ];
      try {
        // The pipeline redacts before create(); the store does not second-guess it …
        const redacted = newDelivery({
          request: {
            ...newDelivery().request,
            headers: { authorization: '[redacted]', 'x-hub-signature-256': '[redacted]' },
          },
        });
        expect((await created(store.create(redacted, DAY))).request.headers).toEqual({
          authorization: '[redacted]',
          'x-hub-signature-256': '[redacted]',
        });
        // … so whatever it is handed is what lands on disk: never hand it a secret.
        const unredacted = newDelivery({
          request: { ...newDelivery().request, headers: { authorization: 'Bearer s3cr3t' } },
        });
        await store.create(unredacted, DAY);
        expect((await store.get(unredacted.id))?.request.headers.authorization).toBe(
          'Bearer s3cr3t',
        );
        await store.update(unredacted.id, { lastError: { code: 'E', message: 'boom' } });
        await store.claimDue(Number.MAX_SAFE_INTEGER, 10, 'w', 1);
        await store.prune(Number.MAX_SAFE_INTEGER, 10);
        await store.list({ limit: 10 });
        await expect(store.update('nope', { state: 'dead' })).rejects.toThrow();
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
      expect(writes).toEqual([]);
    });
  });
});
