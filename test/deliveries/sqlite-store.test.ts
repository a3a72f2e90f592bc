import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import type { DeliveryRecord, DeliveryStore, NewDelivery } from '../../src/deliveries/types';
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

afterEach(() => {
  store.close();
  cleanup(dir);
});

function created(result: ReturnType<DeliveryStore['create']>): DeliveryRecord {
  if (!result.created) throw new Error(`expected a new delivery, got ${result.existing.id}`);
  return result.record;
}

describe('open', () => {
  it('creates DATA_DIR and flowhook.db in it, WAL, synchronous FULL, foreign keys on', () => {
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
    other.close();
    expect(fs.existsSync(path.join(nested, 'flowhook.db'))).toBe(true);
    expect(fs.statSync(nested).mode & 0o777).toBe(0o700);

    const db = new Database(path.join(nested, 'flowhook.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('honours `file`, and sets its pragmas on its own connection', () => {
    const other = openSqliteStore({ dataDir: dir, file: 'other.db' });
    other.create(newDelivery(), DAY);
    other.close();
    expect(fs.existsSync(path.join(dir, 'other.db'))).toBe(true);
  });
});

describe('create and get', () => {
  it('round-trips every field, with a byte-exact binary body', () => {
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
    const record = created(store.create(input, DAY));
    const expected: DeliveryRecord = {
      ...input,
      updatedAt: clock,
      answer: null,
      attempts: [],
      nextAttemptAt: null,
      lease: { owner: 'sync:pid-1', until: 1_800_000_010_000 },
      lastError: null,
    };
    expect(record).toEqual(expected);
    expect(store.get('dlv_1')).toEqual(expected);
    expect(Buffer.from(store.get('dlv_1')!.request.bodyBase64, 'base64').equals(body)).toBe(true);

    // And after reopening the file.
    store.close();
    store = openSqliteStore({ dataDir: dir, now: () => clock });
    expect(store.get('dlv_1')).toEqual(expected);
  });

  it('keeps an empty body and defaults lease and nextAttemptAt to null', () => {
    const input = newDelivery({
      request: { ...newDelivery().request, bodyBase64: '', bodyBytes: 0 },
    });
    const record = created(store.create(input, DAY));
    expect(record.request.bodyBase64).toBe('');
    expect(record.lease).toBeNull();
    expect(record.nextAttemptAt).toBeNull();
  });

  it('refuses a body that is not canonical base64 rather than lose bytes', () => {
    const input = newDelivery({ request: { ...newDelivery().request, bodyBase64: 'ab$cd' } });
    expect(() => store.create(input, DAY)).toThrow(/not canonical base64/);
    expect(store.get(input.id)).toBeUndefined();
  });

  it('returns undefined for an unknown id', () => {
    expect(store.get('nope')).toBeUndefined();
  });

  it('refuses a duplicate id', () => {
    const input = newDelivery();
    store.create(input, DAY);
    expect(() => store.create({ ...input, receivedAt: input.receivedAt + 1 }, DAY)).toThrow();
  });
});

describe('update and addAttempt', () => {
  it('changes only the fields given, sets updatedAt, and null clears', () => {
    const d = created(store.create(newDelivery({ lease: { owner: 'w1', until: 5 } }), DAY));
    clock += 1000;
    const updated = store.update(d.id, {
      state: 'succeeded',
      answer: { status: 200, body: { sessionId: 's-1' } },
      lastError: { code: 'E_HTTP', message: 'flow API 503' },
      nextAttemptAt: 123,
    });
    expect(updated).toEqual({
      ...d,
      state: 'succeeded',
      answer: { status: 200, body: { sessionId: 's-1' } },
      lastError: { code: 'E_HTTP', message: 'flow API 503' },
      nextAttemptAt: 123,
      updatedAt: clock,
    });
    const cleared = store.update(d.id, {
      lease: null,
      lastError: null,
      nextAttemptAt: null,
      routes: [],
      mappingVersion: 'sha256:new',
    });
    expect(cleared).toMatchObject({
      state: 'succeeded',
      lease: null,
      lastError: null,
      nextAttemptAt: null,
      routes: [],
      mappingVersion: 'sha256:new',
      answer: { status: 200, body: { sessionId: 's-1' } },
    });
    expect(store.get(d.id)).toEqual(cleared);
  });

  it('throws on an unknown id', () => {
    expect(() => store.update('nope', { state: 'dead' })).toThrow(/delivery nope not found/);
    expect(() =>
      store.addAttempt('nope', {
        startedAt: 1,
        durationMs: 1,
        route: 'r',
        flowId: 'f',
        outcome: 'failed',
      }),
    ).toThrow(/delivery nope not found/);
  });

  it('numbers attempts 1, 2, … per delivery and returns them in order with the record', () => {
    const a = created(store.create(newDelivery(), DAY));
    const b = created(store.create(newDelivery(), DAY));
    const first = store.addAttempt(a.id, {
      startedAt: 1000,
      durationMs: 12.75,
      route: 'push',
      flowId: 'flow-1',
      outcome: 'failed',
      httpStatus: 503,
      error: { code: 'E_UPSTREAM', message: 'Service Unavailable' },
    });
    clock += 5;
    const second = store.addAttempt(a.id, {
      startedAt: 2000,
      durationMs: 40,
      route: 'push',
      flowId: 'flow-1',
      outcome: 'succeeded',
      httpStatus: 200,
      sessionId: 'sess-9',
    });
    const other = store.addAttempt(b.id, {
      startedAt: 3000,
      durationMs: 1,
      route: 'push',
      flowId: 'flow-1',
      outcome: 'failed',
      error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
    });
    expect([first.number, second.number, other.number]).toEqual([1, 2, 1]);
    const stored = store.get(a.id)!;
    expect(stored.attempts).toEqual([first, second]);
    expect(stored.attempts[0]).not.toHaveProperty('sessionId');
    expect(stored.attempts[1]).not.toHaveProperty('error');
    expect(stored.updatedAt).toBe(clock);
    expect(store.get(b.id)!.attempts).toEqual([other]);
    expect(store.get(b.id)!.attempts[0]).not.toHaveProperty('httpStatus');
  });
});

describe('idempotency', () => {
  it('a repeat within the window returns the first delivery and stores nothing', () => {
    const first = created(store.create(newDelivery({ idempotencyKey: 'k1' }), DAY));
    store.update(first.id, { answer: { status: 202, body: { id: first.id } } });
    const repeat = newDelivery({ idempotencyKey: 'k1', receivedAt: first.receivedAt + DAY - 1 });
    const result = store.create(repeat, DAY);
    expect(result.created).toBe(false);
    expect(!result.created && result.existing).toEqual(store.get(first.id));
    expect(!result.created && result.existing.answer).toEqual({
      status: 202,
      body: { id: first.id },
    });
    expect(store.get(repeat.id)).toBeUndefined();
    expect(store.counts().queued).toBe(1);
  });

  it('after the window the key may be reused, and the new delivery owns it', () => {
    const first = created(store.create(newDelivery({ idempotencyKey: 'k1' }), HOUR));
    const later = newDelivery({ idempotencyKey: 'k1', receivedAt: first.receivedAt + HOUR });
    expect(store.create(later, HOUR).created).toBe(true);
    const third = newDelivery({ idempotencyKey: 'k1', receivedAt: later.receivedAt + 10 });
    const result = store.create(third, HOUR);
    expect(!result.created && result.existing.id).toBe(later.id);
    // The old delivery is still there, still with its key.
    expect(store.get(first.id)?.idempotencyKey).toBe('k1');
  });

  it('the window is per call: a shorter window lets the same key through', () => {
    const first = created(store.create(newDelivery({ idempotencyKey: 'k1' }), DAY));
    const repeat = newDelivery({ idempotencyKey: 'k1', receivedAt: first.receivedAt + 60_000 });
    expect(store.create(repeat, 60_000).created).toBe(true);
  });

  it('different sources with one key are independent', () => {
    expect(store.create(newDelivery({ source: 'a', idempotencyKey: 'k' }), DAY).created).toBe(true);
    expect(store.create(newDelivery({ source: 'b', idempotencyKey: 'k' }), DAY).created).toBe(true);
    expect(store.create(newDelivery({ source: 'a', idempotencyKey: 'k' }), DAY).created).toBe(
      false,
    );
  });

  it('a null key never collides', () => {
    for (let i = 0; i < 3; i++) {
      expect(store.create(newDelivery({ idempotencyKey: null }), DAY).created).toBe(true);
    }
    expect(store.counts().queued).toBe(3);
  });

  it('a key whose delivery was pruned is free again', () => {
    const first = created(
      store.create(newDelivery({ idempotencyKey: 'k', state: 'succeeded' }), 10 * DAY),
    );
    expect(store.prune(first.receivedAt + 1, 100)).toBe(1);
    const again = newDelivery({ idempotencyKey: 'k', receivedAt: first.receivedAt + 2 });
    expect(store.create(again, 10 * DAY).created).toBe(true);
  });
});

describe('claimDue and renewLease', () => {
  const T = 1_700_000_100_000;

  it('claims due deliveries in order of due time, up to the limit, and leases them', () => {
    const late = created(store.create(newDelivery({ receivedAt: T - 50 }), DAY));
    const retry = created(store.create(newDelivery({ receivedAt: T - 500 }), DAY));
    store.update(retry.id, { nextAttemptAt: T - 10 });
    const early = created(store.create(newDelivery({ receivedAt: T - 100 }), DAY));
    const notYet = created(store.create(newDelivery({ receivedAt: T - 900 }), DAY));
    store.update(notYet.id, { nextAttemptAt: T + 1 });
    store.create(newDelivery({ receivedAt: T - 1000, state: 'succeeded' }), DAY);
    store.create(newDelivery({ receivedAt: T - 1000, state: 'dead' }), DAY);

    clock = T + 7;
    const first = store.claimDue(T, 2, 'w1', 30_000);
    expect(first.map((d) => d.id)).toEqual([early.id, late.id]);
    for (const d of first) {
      expect(d).toMatchObject({
        state: 'running',
        lease: { owner: 'w1', until: T + 30_000 },
        nextAttemptAt: null,
        updatedAt: T + 7,
      });
    }
    expect(store.get(early.id)).toEqual(first[0]);

    const second = store.claimDue(T, 10, 'w2', 30_000);
    expect(second.map((d) => d.id)).toEqual([retry.id]);
    expect(store.claimDue(T, 10, 'w3', 30_000)).toEqual([]);
    expect(store.claimDue(T + 1, 10, 'w3', 30_000).map((d) => d.id)).toEqual([notYet.id]);
    expect(store.claimDue(T + 1, 0, 'w3', 30_000)).toEqual([]);
  });

  it('returns claimed deliveries with their attempts', () => {
    const d = created(store.create(newDelivery({ receivedAt: T }), DAY));
    store.addAttempt(d.id, {
      startedAt: T,
      durationMs: 3,
      route: 'push',
      flowId: 'flow-1',
      outcome: 'failed',
      httpStatus: 503,
    });
    store.update(d.id, { nextAttemptAt: T + 1000 });
    const [claimed] = store.claimDue(T + 1000, 1, 'w1', 1000);
    expect(claimed.attempts).toHaveLength(1);
  });

  it('re-claims a delivery whose holder crashed once its lease expired', () => {
    const d = created(store.create(newDelivery({ receivedAt: T }), DAY));
    expect(store.claimDue(T, 1, 'crashed', 1000).map((x) => x.id)).toEqual([d.id]);
    expect(store.claimDue(T + 999, 1, 'w2', 1000)).toEqual([]);
    const [again] = store.claimDue(T + 1000, 1, 'w2', 1000);
    expect(again).toMatchObject({ id: d.id, state: 'running', lease: { owner: 'w2' } });
    // The crashed holder's renewal fails; the new holder's succeeds.
    expect(store.renewLease(d.id, 'crashed', T + 5000)).toBe(false);
    expect(store.renewLease(d.id, 'w2', T + 5000)).toBe(true);
    expect(store.get(d.id)?.lease).toEqual({ owner: 'w2', until: T + 5000 });
    expect(store.claimDue(T + 4999, 1, 'w3', 1000)).toEqual([]);
  });

  it('a running delivery created with a lease (sync) is claimable only when it expires', () => {
    const d = created(
      store.create(
        newDelivery({ receivedAt: T, state: 'running', lease: { owner: 'sync', until: T + 50 } }),
        DAY,
      ),
    );
    expect(store.claimDue(T + 49, 5, 'w', 1000)).toEqual([]);
    expect(store.claimDue(T + 50, 5, 'w', 1000).map((x) => x.id)).toEqual([d.id]);
  });

  it('renewLease is false for an unknown id or a delivery no longer running', () => {
    const d = created(store.create(newDelivery({ receivedAt: T }), DAY));
    store.claimDue(T, 1, 'w1', 1000);
    store.update(d.id, { state: 'succeeded' });
    expect(store.renewLease(d.id, 'w1', T + 9000)).toBe(false);
    expect(store.renewLease('nope', 'w1', T + 9000)).toBe(false);
  });

  it('a final state is never due, whatever its nextAttemptAt or lease', () => {
    const d = created(store.create(newDelivery({ receivedAt: T }), DAY));
    store.update(d.id, { state: 'dead', nextAttemptAt: T, lease: { owner: 'x', until: T } });
    expect(store.claimDue(T + DAY, 10, 'w', 1000)).toEqual([]);
  });
});

describe('list', () => {
  function seed(): DeliveryRecord[] {
    const records: DeliveryRecord[] = [];
    for (let i = 0; i < 25; i++) {
      const record = created(
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
      );
      records.push(record);
    }
    return records;
  }

  const newestFirst = (a: DeliveryRecord, b: DeliveryRecord) =>
    b.receivedAt - a.receivedAt || (a.id < b.id ? 1 : -1);

  it('returns newest first with the limit and a cursor', () => {
    const all = seed().sort(newestFirst);
    const page = store.list({ limit: 5 });
    expect(page.items.map((d) => d.id)).toEqual(all.slice(0, 5).map((d) => d.id));
    expect(typeof page.nextCursor).toBe('string');
    expect(store.list({ limit: 25 }).nextCursor).toBeNull();
  });

  it('pages through everything with no duplicate or gap, for each filter', () => {
    const all = seed().sort(newestFirst);
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
          const page = store.list({ ...filter, limit, cursor });
          seen.push(...page.items.map((d) => d.id));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        expect(seen).toEqual(wanted.map((d) => d.id));
      }
    }
  });

  it('returns full records, attempts included', () => {
    const [first] = seed();
    store.addAttempt(first.id, {
      startedAt: 1,
      durationMs: 2,
      route: 'notify',
      flowId: 'g',
      outcome: 'succeeded',
      sessionId: 's',
    });
    const items = store.list({ limit: 100 }).items;
    expect(items.find((d) => d.id === first.id)).toEqual(store.get(first.id));
    expect(items.filter((d) => d.attempts.length > 0)).toHaveLength(1);
  });

  it('does not see deliveries created after the cursor was taken as a gap', () => {
    seed();
    const first = store.list({ limit: 10 });
    store.create(newDelivery({ receivedAt: 99_999 }), DAY);
    const second = store.list({ limit: 10, cursor: first.nextCursor! });
    const ids = new Set([...first.items, ...second.items].map((d) => d.id));
    expect(ids.size).toBe(20);
  });

  it('refuses a bad cursor and a bad limit with a RangeError', () => {
    expect(() => store.list({ limit: 5, cursor: 'not-a-cursor' })).toThrow(RangeError);
    const bogus = Buffer.from('{"a":1}').toString('base64url');
    expect(() => store.list({ limit: 5, cursor: bogus })).toThrow('invalid cursor');
    expect(() => store.list({ limit: 0 })).toThrow(RangeError);
    expect(() => store.list({ limit: 1.5 })).toThrow(RangeError);
  });
});

describe('prune', () => {
  it('deletes only final states received before the cutoff, at most `limit` per call', () => {
    const old = 1_000;
    const states = ['queued', 'running', 'succeeded', 'failed', 'dead', 'ignored'] as const;
    const olds = states.map((state, i) =>
      created(
        store.create(
          newDelivery({ state, receivedAt: old + i, idempotencyKey: `k-${state}` }),
          DAY,
        ),
      ),
    );
    const recent = created(
      store.create(newDelivery({ state: 'succeeded', receivedAt: 5_000 }), DAY),
    );
    for (const d of olds) {
      store.addAttempt(d.id, {
        startedAt: 1,
        durationMs: 1,
        route: 'r',
        flowId: 'f',
        outcome: 'failed',
      });
    }

    expect(store.prune(5_000, 3)).toBe(3);
    expect(store.prune(5_000, 3)).toBe(1);
    expect(store.prune(5_000, 3)).toBe(0);

    const left = store.list({ limit: 100 }).items.map((d) => d.id);
    expect(left.sort()).toEqual([olds[0].id, olds[1].id, recent.id].sort());
    expect(store.counts()).toEqual({
      queued: 1,
      running: 1,
      succeeded: 1,
      failed: 0,
      dead: 0,
      ignored: 0,
    });
    store.close();

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

  it('deletes the oldest of a state first', () => {
    const a = created(store.create(newDelivery({ state: 'ignored', receivedAt: 3 }), DAY));
    created(store.create(newDelivery({ state: 'ignored', receivedAt: 1 }), DAY));
    created(store.create(newDelivery({ state: 'ignored', receivedAt: 2 }), DAY));
    expect(store.prune(10, 2)).toBe(2);
    expect(store.list({ limit: 10 }).items.map((d) => d.id)).toEqual([a.id]);
  });
});

describe('counts', () => {
  it('counts by state, every state present, through create, update and prune', () => {
    expect(store.counts()).toEqual({
      queued: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      dead: 0,
      ignored: 0,
    });
    const a = created(store.create(newDelivery(), DAY));
    created(store.create(newDelivery(), DAY));
    store.update(a.id, { state: 'failed' });
    store.update(a.id, { state: 'failed' });
    expect(store.counts()).toMatchObject({ queued: 1, failed: 1 });
    store.prune(Number.MAX_SAFE_INTEGER, 10);
    expect(store.counts()).toMatchObject({ queued: 1, failed: 0 });
  });
});

describe('secrets', () => {
  it('stores exactly what it is given and logs nothing: redaction is the caller’s job', () => {
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
      expect(created(store.create(redacted, DAY)).request.headers).toEqual({
        authorization: '[redacted]',
        'x-hub-signature-256': '[redacted]',
      });
      // … so whatever it is handed is what lands on disk: never hand it a secret.
      const unredacted = newDelivery({
        request: { ...newDelivery().request, headers: { authorization: 'Bearer s3cr3t' } },
      });
      store.create(unredacted, DAY);
      expect(store.get(unredacted.id)?.request.headers.authorization).toBe('Bearer s3cr3t');
      store.update(unredacted.id, { lastError: { code: 'E', message: 'boom' } });
      store.claimDue(Number.MAX_SAFE_INTEGER, 10, 'w', 1);
      store.prune(Number.MAX_SAFE_INTEGER, 10);
      store.list({ limit: 10 });
      expect(() => store.update('nope', { state: 'dead' })).toThrow();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(writes).toEqual([]);
  });
});
