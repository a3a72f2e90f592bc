'use strict';
// A separate process sharing one store file with others (test/deliveries/concurrency.test.ts).
// Loads the TypeScript store directly: each .ts file is transpiled on require (no dist/ build,
// so it does not depend on the rest of the repository compiling).
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout } = require('node:timers');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  module._compile(outputText, filename);
};

const { openSqliteStore } = require(
  path.join(__dirname, '..', '..', 'src', 'deliveries', 'sqlite-store.ts'),
);

const [dataDir, tag] = process.argv.slice(2);
const store = openSqliteStore({ dataDir });
const DAY = 86_400_000;

function delivery(id, key) {
  return {
    id,
    source: 'github',
    idempotencyKey: key,
    mode: 'async',
    state: 'queued',
    receivedAt: Date.now(),
    mappingVersion: 'v1',
    request: {
      method: 'POST',
      url: '/hooks/github',
      headers: {},
      bodyBase64: '',
      bodyBytes: 0,
      bodyTruncated: false,
    },
    routes: [],
  };
}

/** Lets the other processes in between calls (requests arrive spread out, not in one burst). */
const tick = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 2));

/** Runs one create and notes when it started and when its promise settled (committed). */
async function timed(key, create) {
  const start = performance.timeOrigin + performance.now();
  const result = await create();
  const end = performance.timeOrigin + performance.now();
  return { key, created: result.created, id: (result.record ?? result.existing).id, start, end };
}

const commands = {
  /** `count` creates with one key: the key, created or not, the id that answered, when it ran. */
  async sameKey({ count }) {
    const results = [];
    for (let i = 0; i < count; i++) {
      await tick();
      results.push(
        await timed('same-key', () => store.create(delivery(`${tag}-same-${i}`, 'same-key'), DAY)),
      );
    }
    return results;
  },
  /** One create per key k-0 … k-(count-1), the keys every process races on. */
  async manyKeys({ count }) {
    const results = [];
    for (let i = 0; i < count; i++) {
      await tick();
      results.push(
        await timed(`k-${i}`, () => store.create(delivery(`${tag}-k-${i}`, `k-${i}`), DAY)),
      );
    }
    return results;
  },
  /**
   * `rounds` bursts of creates issued in one turn (so they share one commit), each key twice in
   * its burst: keys b-0 … b-(rounds × perRound - 1), the keys every process races on.
   */
  async burstKeys({ rounds, perRound }) {
    const results = [];
    for (let r = 0; r < rounds; r++) {
      await tick();
      const burst = [];
      for (let j = 0; j < perRound; j++) {
        const key = `b-${r * perRound + j}`;
        for (const copy of ['x', 'y']) {
          burst.push(timed(key, () => store.create(delivery(`${tag}-${key}-${copy}`, key), DAY)));
        }
      }
      results.push(...(await Promise.all(burst)));
    }
    return results;
  },
  /**
   * Replays: claims each of `ids` from 'dead', `perTurn` at a time, in an order of its own (in one
   * shared order the first process would stay ahead and win them all); each id and its outcome.
   */
  async claimEach({ ids: given, perTurn }) {
    const ids = [...given];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
    const results = [];
    for (let i = 0; i < ids.length; i += perTurn) {
      await tick();
      const chunk = ids.slice(i, i + perTurn);
      const outcomes = await Promise.all(
        chunk.map((id) =>
          store.claim(id, { owner: tag, until: Date.now() + 60_000, fromState: 'dead' }),
        ),
      );
      chunk.forEach((id, j) => results.push({ id, outcome: outcomes[j] }));
    }
    return results;
  },
  /** Claims until nothing is due, "working" 1 ms on each batch; returns the ids it claimed. */
  async claim({ batch }) {
    const claimed = [];
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const got = await store.claimDue(Date.now(), batch, tag, 60_000);
      if (got.length === 0) return claimed;
      for (const d of got) claimed.push(d.id);
    }
  },
};

process.on('message', async (message) => {
  // Every process starts at the same moment (a start line rather than "when the message came").
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, message.startAt - Date.now())));
  const result = await commands[message.command](message);
  await store.close();
  process.send({ result }, () => process.exit(0));
});
process.send({ ready: true });
