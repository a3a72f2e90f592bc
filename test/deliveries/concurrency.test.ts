import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import { cleanup, newDelivery, tempDir } from './support';

const CHILD = path.join(__dirname, 'store-child.js');
const PROCESSES = 4;

interface Outcome {
  /** The idempotency key asked about. */
  key: string;
  created: boolean;
  id: string;
  /** When the create call started and returned (epoch ms, fractional). */
  start: number;
  end: number;
}

/** Whether calls from different processes were in flight at once (so they really raced). */
function overlapped(perProcess: Outcome[][]): boolean {
  return perProcess.some((mine, i) =>
    perProcess.some(
      (theirs, j) =>
        j > i && mine.some((a) => theirs.some((b) => a.start < b.end && b.start < a.end)),
    ),
  );
}

let dir: string;

beforeEach(async () => {
  dir = tempDir();
  // The file exists and is migrated before the children race on it (they would cope anyway).
  await openSqliteStore({ dataDir: dir }).close();
});

afterEach(() => cleanup(dir));

/**
 * Starts `PROCESSES` children on the store, waits until each has opened it, then sends them
 * `command` at the same moment; resolves with each child's result.
 */
async function race<T>(command: Record<string, unknown>): Promise<T[]> {
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<T>[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    const child = fork(CHILD, [dir, `p${i}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        child.on('message', (m: { ready?: boolean }) => m.ready && resolve());
        child.on('error', reject);
      }),
    );
    done.push(
      new Promise((resolve, reject) => {
        child.on('message', (m: { result?: T }) => m.result !== undefined && resolve(m.result));
        child.on('exit', (code) => reject(new Error(`child p${i} exited with ${code}`)));
      }),
    );
  }
  try {
    await Promise.all(ready);
    const startAt = Date.now() + 100;
    for (const child of children) child.send({ ...command, startAt });
    return await Promise.all(done);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}

describe('across processes', () => {
  // Four node processes each load TypeScript: on a loaded machine that alone can take seconds. A
  // ceiling, not an assertion on time (issue 10 item 13).
  jest.setTimeout(120_000);
  it('of 4 × 50 creates with one key, exactly one creates; every other gets that one', async () => {
    const perProcess = await race<Outcome[]>({ command: 'sameKey', count: 50 });
    expect(overlapped(perProcess)).toBe(true);
    const results = perProcess.flat();
    expect(results).toHaveLength(PROCESSES * 50);
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set([winners[0].id]));

    const store = openSqliteStore({ dataDir: dir });
    expect((await store.counts()).queued).toBe(1);
    await store.close();
  });

  it('racing on 50 keys, each key is created once', async () => {
    const perProcess = await race<Outcome[]>({ command: 'manyKeys', count: 50 });
    expect(overlapped(perProcess)).toBe(true);
    const results = perProcess.flat();
    expect(results).toHaveLength(PROCESSES * 50);
    const byKey = new Map<string, Outcome[]>();
    for (const r of results) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    expect(byKey.size).toBe(50);
    for (const [key, answers] of byKey) {
      const winners = answers.filter((r) => r.created);
      expect(winners).toHaveLength(1);
      // Ids are `p<process>-<key>`: the answer is the delivery created with that very key.
      expect(winners[0].id).toMatch(new RegExp(`^p\\d+-${key}$`));
      expect(new Set(answers.map((r) => r.id))).toEqual(new Set([winners[0].id]));
    }
  });

  it('creates issued in bursts (one commit each) race across processes: one per key', async () => {
    const perProcess = await race<Outcome[]>({ command: 'burstKeys', rounds: 5, perRound: 10 });
    expect(overlapped(perProcess)).toBe(true);
    const results = perProcess.flat();
    expect(results).toHaveLength(PROCESSES * 5 * 10 * 2);
    const byKey = new Map<string, Outcome[]>();
    for (const r of results) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    expect(byKey.size).toBe(50);
    for (const [key, answers] of byKey) {
      expect(answers).toHaveLength(PROCESSES * 2);
      const winners = answers.filter((r) => r.created);
      expect(winners).toHaveLength(1);
      expect(winners[0].id).toMatch(new RegExp(`^p\\d+-${key}-[xy]$`));
      expect(new Set(answers.map((r) => r.id))).toEqual(new Set([winners[0].id]));
    }

    const store = openSqliteStore({ dataDir: dir });
    expect((await store.counts()).queued).toBe(50);
    await store.close();
  });

  it('claim (replay) from 4 processes: each delivery claimed by exactly one', async () => {
    const store = openSqliteStore({ dataDir: dir });
    const deliveries = Array.from({ length: 60 }, () => newDelivery({ state: 'dead' }));
    await Promise.all(deliveries.map((d) => store.create(d, 0)));
    await store.close();
    const ids = deliveries.map((d) => d.id);

    const perProcess = await race<{ id: string; outcome: string }[]>({
      command: 'claimEach',
      ids,
      perTurn: 5,
    });
    const results = perProcess.flat();
    expect(results).toHaveLength(PROCESSES * ids.length);
    const claimedBy = new Map<string, number[]>();
    perProcess.forEach((mine, p) => {
      for (const r of mine) {
        expect(['claimed', 'changed']).toContain(r.outcome);
        if (r.outcome === 'claimed') claimedBy.set(r.id, [...(claimedBy.get(r.id) ?? []), p]);
      }
    });
    expect([...claimedBy.keys()].sort()).toEqual([...ids].sort());
    for (const owners of claimedBy.values()) expect(owners).toHaveLength(1);
    // They did race: more than one process won some.
    expect(new Set([...claimedBy.values()].flat()).size).toBeGreaterThan(1);

    const after = openSqliteStore({ dataDir: dir });
    expect(await after.counts()).toMatchObject({ dead: 0, running: ids.length });
    // The lease is the claimant's.
    for (const [id, [p]] of claimedBy) expect((await after.get(id))?.lease?.owner).toBe(`p${p}`);
    await after.close();
  });

  it('claimDue from 4 processes: every due delivery claimed once, none twice', async () => {
    const store = openSqliteStore({ dataDir: dir });
    const deliveries = Array.from({ length: 400 }, () =>
      newDelivery({ receivedAt: Date.now() - 1000 }),
    );
    // Issued together: they commit in groups (at most 256 a commit).
    await Promise.all(deliveries.map((d) => store.create(d, 0)));
    await store.close();
    const ids = deliveries.map((d) => d.id);

    const claimed = (await race<string[]>({ command: 'claim', batch: 3 })).map((c) => c.sort());
    const all = claimed.flat();
    expect(all).toHaveLength(ids.length);
    expect(new Set(all).size).toBe(ids.length);
    expect(all.sort()).toEqual(ids.sort());
    // They did race: more than one process got work.
    expect(claimed.filter((c) => c.length > 0).length).toBeGreaterThan(1);

    const after = openSqliteStore({ dataDir: dir });
    expect(await after.counts()).toMatchObject({ queued: 0, running: 400 });
    await after.close();
  });
});
