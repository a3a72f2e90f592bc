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

function timed(key, create) {
  const start = performance.timeOrigin + performance.now();
  const result = create();
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
        timed('same-key', () => store.create(delivery(`${tag}-same-${i}`, 'same-key'), DAY)),
      );
    }
    return results;
  },
  /** One create per key k-0 … k-(count-1), the keys every process races on. */
  async manyKeys({ count }) {
    const results = [];
    for (let i = 0; i < count; i++) {
      await tick();
      results.push(timed(`k-${i}`, () => store.create(delivery(`${tag}-k-${i}`, `k-${i}`), DAY)));
    }
    return results;
  },
  /** Claims until nothing is due, "working" 1 ms on each batch; returns the ids it claimed. */
  async claim({ batch }) {
    const claimed = [];
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const got = store.claimDue(Date.now(), batch, tag, 60_000);
      if (got.length === 0) return claimed;
      for (const d of got) claimed.push(d.id);
    }
  },
};

process.on('message', async (message) => {
  // Every process starts at the same moment (a start line rather than "when the message came").
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, message.startAt - Date.now())));
  const result = await commands[message.command](message);
  store.close();
  process.send({ result }, () => process.exit(0));
});
process.send({ ready: true });
