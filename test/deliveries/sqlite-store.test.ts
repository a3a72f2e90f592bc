import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import type {
  Attempt,
  CreateResult,
  DeliveryRecord,
  DeliveryStore,
  NewDelivery,
} from '../../src/deliveries/types';
import { cleanup, newDelivery, tempDir } from './support';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let dir: string;
let store: DeliveryStore;
let clock: number;

beforeEach(() => {
  dir = tempDir();
  clock = 1_800_000_000_000;
  store = openSqliteStore({ dataDir: dir, now: () => clock });
});

afterEach(async () => {
  await store.close();
  cleanup(dir);
});

async function created(result: Promise<CreateResult>): Promise<DeliveryRecord> {
  const settled = await result;
  if (!settled.created) throw new Error(`expected a new delivery, got ${settled.existing.id}`);
  return settled.record;
}

async function mustGet(id: string): Promise<DeliveryRecord> {
  const record = await store.get(id);
  if (!record) throw new Error(`delivery ${id} not found`);
  return record;
}

let attemptCounter = 0;

/** An attempt as a caller hands it to update (unnumbered); `overrides` replace fields. */
function attempt(overrides: Partial<Omit<Attempt, 'number'>> = {}): Omit<Attempt, 'number'> {
  attemptCounter += 1;
  return {
    startedAt: 1_000 * attemptCounter,
    durationMs: attemptCounter,
    route: 'push',
    flowId: 'flow-1',
    outcome: 'failed',
    httpStatus: 503,
    ...overrides,
  };
}

/**
 * How many commits the store's WAL file holds: a frame whose "database size after commit" field
 * is not zero ends a commit. Only frames carrying the header's salts are current (a checkpoint
 * restarts the WAL with new salts; these tests stay far below the 1000-page auto-checkpoint).
 */
function walCommits(file = path.join(dir, 'flowhook.db')): number {
  const wal = fs.readFileSync(`${file}-wal`);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salts = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salts[0] || wal.readUInt32BE(at + 12) !== salts[1]) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits += 1;
  }
  return commits;
}

describe('open', () => {
  it('creates DATA_DIR and flowhook.db in it, WAL, synchronous FULL, foreign keys on', async () => {
    const nested = path.join(dir, 'a', 'b');
    const pragma = jest.spyOn(Database.prototype, 'pragma');
    let other: DeliveryStore;
    try {
      other = openSqliteStore({ dataDir: nested });
      expect(pragma.mock.calls.map((call) => call[0])).toEqual(
        expect.arrayContaining([
          'busy_timeout = 5000',
          'journal_mode = WAL',
          'synchronous = FULL',
          'foreign_keys = ON',
        ]),
      );
    } finally {
      pragma.mockRestore();
    }
    await other.close();
    expect(fs.existsSync(path.join(nested, 'flowhook.db'))).toBe(true);
    expect(fs.statSync(nested).mode & 0o777).toBe(0o700);

    const db = new Database(path.join(nested, 'flowhook.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('honours `file`, and sets its pragmas on its own connection', async () => {
    const other = openSqliteStore({ dataDir: dir, file: 'other.db' });
    const d = newDelivery();
    await other.create(d, DAY);
    await other.close();
    expect(fs.existsSync(path.join(dir, 'other.db'))).toBe(true);
    expect(await store.get(d.id)).toBeUndefined();
  });
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
    const stored = await mustGet('dlv_1');
    expect(Buffer.from(stored.request.bodyBase64, 'base64').equals(body)).toBe(true);

    // And after reopening the file.
    await store.close();
    store = openSqliteStore({ dataDir: dir, now: () => clock });
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
    expect((await mustGet(input.id)).answer).toEqual(answer);
    // A repeat gets that answer back.
    const repeat = await store.create(
      newDelivery({ idempotencyKey: 'k-answer', receivedAt: input.receivedAt + 1 }),
      DAY,
    );
    expect(!repeat.created && repeat.existing.answer).toEqual(answer);

    // And it survives reopening.
    await store.close();
    store = openSqliteStore({ dataDir: dir, now: () => clock });
    expect((await mustGet(input.id)).answer).toEqual(answer);
  });

  it('an explicit null answer is stored as none', async () => {
    const input = newDelivery({ answer: null });
    expect((await created(store.create(input, DAY))).answer).toBeNull();
    expect((await mustGet(input.id)).answer).toBeNull();
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
    // Not `.rejects.toThrow()`: better-sqlite3's SqliteError may come from another test file's
    // realm (the native addon keeps the first one a jest worker loaded), and then it is no
    // `instanceof Error` here and toThrow() sees nothing thrown.
    await expect(
      store.create({ ...input, receivedAt: input.receivedAt + 1 }, DAY),
    ).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect((await mustGet(input.id)).receivedAt).toBe(input.receivedAt);
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
    const stored = await mustGet(a.id);
    expect(stored.attempts).toEqual([...first.attempts, ...second.attempts]);
    expect(stored.attempts[0]).not.toHaveProperty('sessionId');
    expect(stored.attempts[1]).not.toHaveProperty('error');
    expect(stored.updatedAt).toBe(clock);
    expect((await mustGet(b.id)).attempts).toEqual(other.attempts);
    expect((await mustGet(b.id)).attempts[0]).not.toHaveProperty('httpStatus');
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
    const stored = await mustGet(d.id);
    expect(stored.state).toBe('failed');
    expect(stored.attempts).toEqual([...first.attempts, ...more.attempts]);
  });

  it('an empty attempts list appends nothing', async () => {
    const d = await created(store.create(newDelivery(), DAY));
    expect(await store.update(d.id, { state: 'failed' }, { attempts: [] })).toEqual({
      applied: true,
      attempts: [],
    });
    expect((await mustGet(d.id)).attempts).toEqual([]);
  });
});

describe('update with owner', () => {
  async function heldBy(owner: string): Promise<DeliveryRecord> {
    return created(
      store.create(newDelivery({ state: 'running', lease: { owner, until: clock + 60_000 } }), DAY),
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
    const before = await mustGet(d.id);
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
    const after = await mustGet(d.id);
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
    expect((await mustGet(d.id)).lease).toMatchObject({ owner: 'w1' });
    const a = attempt();
    const result = await store.update(
      d.id,
      { state: 'queued', nextAttemptAt: 7 },
      { owner: 'w1', attempts: [a] },
    );
    expect(result).toEqual({ applied: false, attempts: [{ ...a, number: 1 }] });
    expect(await mustGet(d.id)).toMatchObject({
      state: 'succeeded',
      nextAttemptAt: null,
      attempts: [{ ...a, number: 1 }],
    });
  });

  it('does not apply to a queued delivery nobody holds', async () => {
    const d = await created(store.create(newDelivery(), DAY));
    const result = await store.update(d.id, { state: 'succeeded' }, { owner: 'w1' });
    expect(result).toEqual({ applied: false, attempts: [] });
    expect((await mustGet(d.id)).state).toBe('queued');
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
    expect((await mustGet(d.id)).state).toBe('succeeded');
  });
});

describe('claim', () => {
  it("'claimed': sets running, the lease, clears nextAttemptAt, and applies the patch", async () => {
    const d = await created(store.create(newDelivery({ state: 'dead' }), DAY));
    await store.update(d.id, {
      nextAttemptAt: 77,
      lastError: { code: 'E_GONE', message: 'retries exhausted' },
    });
    const before = await mustGet(d.id);
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
    expect(await store.claim(d.id, { owner: 'o', until: 9, fromState: 'failed' })).toBe('claimed');
    expect(await mustGet(d.id)).toMatchObject({
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
    expect(await mustGet(d.id)).toMatchObject({ routes: [], mappingVersion: d.mappingVersion });
  });

  it("'changed' when the state is no longer fromState, and changes nothing", async () => {
    const d = await created(store.create(newDelivery({ state: 'dead' }), DAY));
    const before = await mustGet(d.id);
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
    const before = await mustGet(d.id);
    expect(await store.claim(d.id, { owner: 'admin', until: 1, fromState: 'running' })).toBe(
      'changed',
    );
    expect(await store.get(d.id)).toEqual(before);
  });

  it('of two claims from one state, the second sees the first (even in one commit)', async () => {
    const d = await created(store.create(newDelivery({ state: 'dead' }), DAY));
    const outcomes = await Promise.all([
      store.claim(d.id, { owner: 'a', until: 1, fromState: 'dead' }),
      store.claim(d.id, { owner: 'b', until: 2, fromState: 'dead' }),
    ]);
    expect(outcomes).toEqual(['claimed', 'changed']);
    expect((await mustGet(d.id)).lease).toEqual({ owner: 'a', until: 1 });
    expect(await store.claim(d.id, { owner: 'c', until: 3, fromState: 'dead' })).toBe('changed');
  });

  it("'changed' when an attempt was recorded since the caller read it, even in the same state", async () => {
    const d = await created(store.create(newDelivery({ state: 'dead' }), DAY));
    // Another process ran it meanwhile and left it dead again, one attempt later.
    await store.update(d.id, {}, { attempts: [attempt()] });
    expect(await store.claim(d.id, { owner: 'a', until: 1, fromState: 'dead', attempts: 0 })).toBe(
      'changed',
    );
    expect((await mustGet(d.id)).state).toBe('dead');
    expect(await store.claim(d.id, { owner: 'a', until: 1, fromState: 'dead', attempts: 1 })).toBe(
      'claimed',
    );
  });

  it("'missing' for an unknown id", async () => {
    expect(await store.claim('nope', { owner: 'a', until: 1, fromState: 'dead' })).toBe('missing');
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

  it('of creates with one key issued in one turn (one commit), only the first creates', async () => {
    const first = newDelivery({ idempotencyKey: 'same', answer: { status: 202, body: 'first' } });
    const results = await Promise.all([
      store.create(first, DAY),
      store.create(newDelivery({ idempotencyKey: 'same' }), DAY),
      store.create(newDelivery({ idempotencyKey: 'same' }), DAY),
    ]);
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    for (const r of results.slice(1)) {
      expect(!r.created && r.existing).toEqual(await store.get(first.id));
      expect(!r.created && r.existing.answer).toEqual({ status: 202, body: 'first' });
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
    const early = await created(store.create(newDelivery({ receivedAt: T - 100 }), DAY));
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
    expect(await store.get(early.id)).toEqual(first[0]);

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
    await store.update(d.id, { state: 'dead', nextAttemptAt: T, lease: { owner: 'x', until: T } });
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
    const db = new Database(path.join(dir, 'flowhook.db'), { readonly: true });
    const attemptsOf = db
      .prepare('SELECT DISTINCT delivery_id FROM attempts ORDER BY 1')
      .pluck()
      .all();
    expect(attemptsOf).toEqual([olds[0].id, olds[1].id].sort());
    const keys = db.prepare('SELECT key FROM idempotency_keys ORDER BY 1').pluck().all();
    expect(keys).toEqual(['k-queued', 'k-running']);
    db.close();
    store = openSqliteStore({ dataDir: dir });
  });

  it('deletes the oldest of a state first', async () => {
    const a = await created(store.create(newDelivery({ state: 'ignored', receivedAt: 3 }), DAY));
    await created(store.create(newDelivery({ state: 'ignored', receivedAt: 1 }), DAY));
    await created(store.create(newDelivery({ state: 'ignored', receivedAt: 2 }), DAY));
    expect(await store.prune(10, 2)).toBe(2);
    expect((await store.list({ limit: 10 })).items.map((d) => d.id)).toEqual([a.id]);
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

describe('group commit', () => {
  it('counts commits through the WAL: each awaited write is one (the yardstick)', async () => {
    const before = walCommits();
    await store.create(newDelivery(), DAY);
    await store.create(newDelivery(), DAY);
    const d = await created(store.create(newDelivery(), DAY));
    await store.update(d.id, { state: 'failed' });
    expect(walCommits() - before).toBe(4);
    // A group whose only write failed changed nothing, and so wrote no commit.
    await expect(store.update('nope', {})).rejects.toThrow(/not found/);
    expect(walCommits() - before).toBe(4);
  });

  it('writes issued in one turn all land, in order, in one commit', async () => {
    const a = await created(store.create(newDelivery(), DAY));
    const b = await created(store.create(newDelivery({ state: 'dead' }), DAY));
    const c = newDelivery();
    const before = walCommits();
    clock += 1000;
    const [made, updated, claimed, renewed, later, due] = await Promise.all([
      store.create(c, DAY),
      store.update(a.id, { state: 'failed' }, { attempts: [attempt()] }),
      store.claim(b.id, { owner: 'w', until: clock + 10, fromState: 'dead' }),
      // Each write sees the ones issued before it: the claim, the create.
      store.renewLease(b.id, 'w', clock + 20),
      store.update(c.id, { nextAttemptAt: 42 }),
      store.claimDue(41, 10, 'worker', 1000),
    ]);
    expect(walCommits() - before).toBe(1);

    expect(made.created).toBe(true);
    expect(updated).toEqual({ applied: true, attempts: [expect.objectContaining({ number: 1 })] });
    expect(claimed).toBe('claimed');
    expect(renewed).toBe(true);
    expect(later.applied).toBe(true);
    // c was not due at 41 (next attempt at 42); b is running under a live lease: neither is taken.
    expect(due).toEqual([]);

    expect(await mustGet(a.id)).toMatchObject({ state: 'failed', attempts: [{ number: 1 }] });
    expect(await mustGet(b.id)).toMatchObject({
      state: 'running',
      lease: { owner: 'w', until: clock + 20 },
    });
    expect(await mustGet(c.id)).toMatchObject({ state: 'queued', nextAttemptAt: 42 });
  });

  it('commits at most 256 writes together', async () => {
    const before = walCommits();
    const results = await Promise.all(
      Array.from({ length: 300 }, () => store.create(newDelivery(), DAY)),
    );
    expect(results.every((r) => r.created)).toBe(true);
    expect(walCommits() - before).toBe(2);
    expect((await store.counts()).queued).toBe(300);
  });

  it('a write that throws rolls back alone and rejects only its own promise', async () => {
    const a = await created(store.create(newDelivery(), DAY));
    const fresh = newDelivery();
    const before = walCommits();
    const results = await Promise.allSettled([
      store.update(a.id, { state: 'succeeded' }),
      store.create({ ...newDelivery(), id: a.id }, DAY),
      store.create(fresh, DAY),
      store.update('nope', { state: 'dead' }),
      // Sets the state and appends one attempt before the second attempt breaks a CHECK
      // constraint: its savepoint takes back all of it.
      store.update(
        fresh.id,
        { state: 'dead' },
        { attempts: [attempt(), attempt({ outcome: 'bogus' as Attempt['outcome'] })] },
      ),
      store.create(newDelivery({ request: { ...fresh.request, bodyBase64: '%%' } }), DAY),
      store.update(fresh.id, {}, { attempts: [attempt()] }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    const reasons = results.map((r) => (r.status === 'rejected' ? String(r.reason) : null));
    expect(reasons[1]).toMatch(/UNIQUE constraint/);
    expect(reasons[3]).toMatch(/delivery nope not found/);
    expect(reasons[4]).toMatch(/CHECK constraint/);
    expect(reasons[5]).toMatch(/not canonical base64/);
    expect(walCommits() - before).toBe(1);

    expect(await mustGet(a.id)).toMatchObject({ state: 'succeeded', receivedAt: a.receivedAt });
    const stored = await mustGet(fresh.id);
    expect(stored.state).toBe('queued');
    // Numbered 1: the rolled-back write's attempt is gone.
    expect(stored.attempts.map((x) => x.number)).toEqual([1]);
    expect(results[6]).toEqual({
      status: 'fulfilled',
      value: { applied: true, attempts: [expect.objectContaining({ number: 1 })] },
    });
    expect(await store.counts()).toMatchObject({ queued: 1, succeeded: 1, dead: 0 });
  });

  it('a write that makes SQLite roll back the whole group (disk full) fails alone; the others go again', async () => {
    // The store's own connection, caught as it opens, so its file can be capped.
    const pragma = jest.spyOn(Database.prototype, 'pragma');
    const capped = openSqliteStore({ dataDir: dir, file: 'capped.db', now: () => clock });
    const connection = pragma.mock.contexts[0] as Database.Database;
    pragma.mockRestore();
    try {
      const existing = await created(capped.create(newDelivery(), DAY));
      const pages = connection.pragma('page_count', { simple: true }) as number;
      connection.pragma(`max_page_count = ${pages + 2}`);
      const small = [newDelivery(), newDelivery()];
      const results = await Promise.allSettled([
        capped.create(small[0], DAY),
        // Too big for the cap: SQLITE_FULL, which rolls back the transaction, not the savepoint.
        capped.update(existing.id, { answer: { status: 200, body: 'x'.repeat(300_000) } }),
        capped.create(small[1], DAY),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/full/i);
      // Both small creates are stored, and the failed update changed nothing.
      for (const d of small) expect((await capped.get(d.id))?.id).toBe(d.id);
      expect((await capped.get(existing.id))?.answer).toBeNull();
    } finally {
      await capped.close();
    }
  });

  it('reads run at once: a write not yet committed is not seen', async () => {
    const d = newDelivery();
    const pending = store.create(d, DAY);
    expect(await store.get(d.id)).toBeUndefined();
    expect((await store.counts()).queued).toBe(0);
    await pending;
    expect((await mustGet(d.id)).id).toBe(d.id);
  });
});

describe('close', () => {
  it('commits the writes still queued, then closes', async () => {
    const d = newDelivery();
    const pending = store.create(d, DAY);
    const many = Array.from({ length: 300 }, () => store.create(newDelivery(), DAY));
    const update = store.update(d.id, { state: 'failed' }, { attempts: [attempt()] });
    await store.close();
    await expect(pending).resolves.toMatchObject({ created: true });
    expect((await Promise.all(many)).every((r) => r.created)).toBe(true);
    await expect(update).resolves.toMatchObject({ applied: true });

    store = openSqliteStore({ dataDir: dir, now: () => clock });
    expect(await mustGet(d.id)).toMatchObject({ state: 'failed', attempts: [{ number: 1 }] });
    expect(await store.counts()).toMatchObject({ queued: 300, failed: 1 });
  });

  it('a write after close rejects; closing again is harmless', async () => {
    const d = await created(store.create(newDelivery(), DAY));
    await store.close();
    const closed = 'the delivery store is closed';
    await expect(store.create(newDelivery(), DAY)).rejects.toThrow(closed);
    await expect(store.update(d.id, { state: 'dead' })).rejects.toThrow(closed);
    await expect(store.claim(d.id, { owner: 'o', until: 1, fromState: 'queued' })).rejects.toThrow(
      closed,
    );
    await expect(store.claimDue(Number.MAX_SAFE_INTEGER, 1, 'w', 1)).rejects.toThrow(closed);
    await expect(store.renewLease(d.id, 'w', 1)).rejects.toThrow(closed);
    await expect(store.prune(Number.MAX_SAFE_INTEGER, 1)).rejects.toThrow(closed);
    // Reads fail too (the connection is gone), as a rejection rather than a throw.
    await expect(store.get(d.id)).rejects.toMatchObject({
      message: expect.stringMatching(/not open/),
    });
    await expect(store.close()).resolves.toBeUndefined();

    store = openSqliteStore({ dataDir: dir });
    expect((await mustGet(d.id)).state).toBe('queued');
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
      expect((await store.get(unredacted.id))?.request.headers.authorization).toBe('Bearer s3cr3t');
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
