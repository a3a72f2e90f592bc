// What the delivery store costs per delivery on SQLite (issue 15): the store opened as the
// server opens it (openStore, STORE_SYNC=full unless told, a fresh DATA_DIR), then N deliveries
// shaped as the sync path writes them (or the async path, --shape async): create (running, leased, the GitHub push body, its headers
// and routing explanation), then update to succeeded with one attempt and the answer, under the
// lease. 32 of them are in flight at once, so a group commit holds ~32 writes, as in the server.
//
//   node dist/bench/store-cost.js [--count 20000] [--concurrency 32] [--sync full|normal]
//                                 [--build /other/checkout]   (that checkout's dist/src instead)
//                                 [--ids v7|v4]   (time-ordered delivery ids, as the server makes
//                                                  them, or random ones as before issue 15)
//                                 [--shape sync|async]   (async: created queued with its 202
//                                  answer, claimed by claimDue, then its outcome, as the worker)
//
// Instructions instead of CPU time (a count does not move with the machine's hour): run it under
// callgrind twice, with --count N and --count 3N (N at least the warm-up's 2,000), and divide the
// difference by 2N: the start-up and the warm-up cancel out. Two such counts of one build were
// 1.0% apart (the lanes' claims share group commits by timing; docs/performance.md):
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/a.cg node dist/bench/store-cost.js \
//     --shape async --count 2000     (then --count 6000 into /tmp/c.cg; "summary:" in each file)
//
// Prints the CPU time per delivery (process.cpuUsage: this thread, SQLite, and the thread pool's
// fsyncs), split user/system, and the wall rate. The machine may be shared: compare CPU times.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newDeliveryId } from '../src/deliveries/new-delivery-id';
import type { DeliveryStore, NewDelivery } from '../src/deliveries/types';

interface Options {
  count: number;
  concurrency: number;
  sync: 'full' | 'normal';
  build: string | undefined;
  /** Delivery ids: time-ordered (v7, what the server makes since issue 15) or random (v4). */
  ids: 'v4' | 'v7';
  /** sync: created running, then its outcome; async: created queued, claimed, then its outcome. */
  shape: 'sync' | 'async';
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = {
    count: 20_000,
    concurrency: 32,
    sync: 'full',
    build: undefined,
    ids: 'v7',
    shape: 'sync',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--count':
        options.count = Number(value);
        i += 1;
        break;
      case '--concurrency':
        options.concurrency = Number(value);
        i += 1;
        break;
      case '--sync':
        if (value !== 'full' && value !== 'normal') throw new Error('--sync full|normal');
        options.sync = value;
        i += 1;
        break;
      case '--ids':
        if (value !== 'v4' && value !== 'v7') throw new Error('--ids v4|v7');
        options.ids = value;
        i += 1;
        break;
      case '--shape':
        if (value !== 'sync' && value !== 'async') throw new Error('--shape sync|async');
        options.shape = value;
        i += 1;
        break;
      case '--build':
        options.build = value;
        i += 1;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return options;
}

type OpenStore = typeof import('../src/deliveries/open-store').openStore;

function loadOpenStore(build: string | undefined): OpenStore {
  const file =
    build === undefined
      ? path.join(__dirname, '..', 'src', 'deliveries', 'open-store.js')
      : path.resolve(build, 'dist', 'src', 'deliveries', 'open-store.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { openStore: OpenStore }).openStore;
}

const PAYLOAD = fs.readFileSync(
  path.join(__dirname, '..', '..', 'bench', 'payloads', 'github-push.json'),
);
const BODY_BASE64 = PAYLOAD.toString('base64');
const PROCESS = `bench-host:${process.pid}:0a1b2c3d`;
const MAPPING_VERSION = 'sha256:5c0e8f0b1a4d2f7e9c3b6a8d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f';

/** A delivery as handle-delivery.ts creates it for a sync GitHub push (headers as stored). */
function syncDelivery(n: number, receivedAt: number, ids: Options['ids']): NewDelivery {
  const githubDelivery = randomUUID();
  return {
    id: ids === 'v7' ? newDeliveryId(receivedAt) : randomUUID(),
    source: 'github',
    idempotencyKey: githubDelivery,
    mode: 'sync',
    state: 'running',
    receivedAt,
    mappingVersion: MAPPING_VERSION,
    request: {
      method: 'POST',
      url: '/hooks/github',
      headers: {
        host: '127.0.0.1:41234',
        connection: 'keep-alive',
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/bench',
        'x-github-event': 'push',
        'x-github-hook-id': '401234567',
        'x-hub-signature-256': '[redacted]',
        'x-github-delivery': githubDelivery,
        'content-length': String(PAYLOAD.length),
      },
      bodyBase64: BODY_BASE64,
      bodyBytes: PAYLOAD.length,
      bodyTruncated: false,
    },
    routes: [
      {
        route: 'push-to-main',
        flowId: 'deploy-flow',
        orgId: 'bench-org',
        variables: {
          repository: 'octo-org/octo-repo',
          author: 'Mona Lisa Octocat',
          message: `Deploy ${n}: bump the widget`,
          event: 'push',
          environment: 'production',
        },
      },
    ],
    lease: { owner: `${PROCESS}#${n}`, until: receivedAt + 65_000 },
    nextAttemptAt: null,
    answer: null,
    lastError: null,
    explanation: {
      mappingVersion: MAPPING_VERSION,
      file: 'github.yaml',
      dispatch: 'first',
      verification: { provider: 'github', secretIndex: 0 },
      routes: [
        {
          name: 'push-to-main',
          held: true,
          conditions: [
            { condition: 'header X-GitHub-Event equals push', held: true, found: ['push'] },
            { condition: '$.ref equals refs/heads/main', held: true, found: ['refs/heads/main'] },
          ],
        },
      ],
      matched: ['push-to-main'],
    },
    traceContext: null,
  };
}

/** A delivery as handle-delivery.ts creates it for an async GitHub push: queued, answered 202. */
function asyncDelivery(n: number, receivedAt: number, ids: Options['ids']): NewDelivery {
  const delivery = syncDelivery(n, receivedAt, ids);
  return {
    ...delivery,
    mode: 'async',
    state: 'queued',
    lease: null,
    answer: { status: 202, body: { deliveryId: delivery.id, status: 'queued' } },
  };
}

/**
 * One delivery's writes, as the sync path makes them (create, outcome with its answer) or as the
 * async path and its worker do (create, a claim of one due delivery, its outcome; the claims of
 * concurrent lanes share group commits, as the worker's batches do).
 */
async function oneDelivery(store: DeliveryStore, n: number, options: Options): Promise<void> {
  const receivedAt = Date.now();
  const sync = options.shape === 'sync';
  const delivery = sync
    ? syncDelivery(n, receivedAt, options.ids)
    : asyncDelivery(n, receivedAt, options.ids);
  const created = await store.create(delivery, 86_400_000);
  if (!created.created) throw new Error(`delivery ${n} was taken for a repeat`);
  let id = delivery.id;
  let owner = delivery.lease?.owner;
  if (!sync) {
    const [claimed] = await store.claimDue(Date.now(), 1, `${PROCESS}#claim${n}`, 65_000);
    if (claimed === undefined) throw new Error(`delivery ${n}: nothing was due`);
    id = claimed.id;
    owner = claimed.lease?.owner;
  }
  const sessionId = randomUUID();
  const result = await store.update(
    id,
    {
      state: 'succeeded',
      nextAttemptAt: null,
      lease: null,
      lastError: null,
      ...(sync
        ? {
            answer: {
              status: 200,
              body: {
                deliveryId: id,
                source: 'github',
                route: 'push-to-main',
                flowId: 'deploy-flow',
                sessionId,
                result: 'Execution completed',
              },
            },
          }
        : {}),
    },
    {
      attempts: [
        {
          startedAt: receivedAt + 1,
          durationMs: 3.2,
          route: 'push-to-main',
          flowId: 'deploy-flow',
          outcome: 'succeeded',
          httpStatus: 200,
          sessionId,
        },
      ],
      owner,
    },
  );
  if (!result.applied || result.attempts[0]?.number !== 1) {
    throw new Error(`delivery ${n}: the outcome was not applied`);
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const openStore = loadOpenStore(options.build);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-store-cost-'));
  const silent = { warn: () => undefined } as unknown as Parameters<OpenStore>[1];
  try {
    const store = await openStore(
      {
        databaseUrl: undefined,
        databasePoolSize: 1,
        dataDir,
        storeSync: options.sync,
        storeMaxBytes: undefined,
      },
      silent,
    );
    // Warm-up (JIT, statement shapes), not measured.
    const warm = Math.min(2000, options.count);
    let next = 0;
    const run = async (until: number) => {
      const lanes = Array.from({ length: options.concurrency }, async () => {
        while (next < until) {
          next += 1;
          await oneDelivery(store, next, options);
        }
      });
      await Promise.all(lanes);
    };
    await run(warm);
    const counts = await store.counts();
    if (counts.succeeded !== warm)
      throw new Error(`expected ${warm} succeeded, got ${counts.succeeded}`);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await run(warm + options.count);
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    await store.close();
    const per = (us: number) => (us / options.count).toFixed(1);
    console.log(
      JSON.stringify({
        build: options.build ?? path.resolve(__dirname, '..', '..'),
        sync: options.sync,
        shape: options.shape,
        count: options.count,
        concurrency: options.concurrency,
        cpuUsPerDelivery: Number(per(used.user + used.system)),
        userUsPerDelivery: Number(per(used.user)),
        systemUsPerDelivery: Number(per(used.system)),
        deliveriesPerSecond: Math.round((options.count / wallMs) * 1000),
      }),
    );
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
