// CPU per delivery of the limits work alone, on SQLite, for a flow without limits (the default,
// and the load benchmark's case): acquire → the call's outcome → release, as a sync request does,
// through the limiter the server uses, on the delivery store's file.
//   node dist/bench/limits-cycle.js [deliveries] [in flight]   (default 20000 32)
// Prints CPU µs per delivery (user + system, process.cpuUsage): the machine is shared, so wall
// time says little. Compare two builds by running each one's copy of this script in turns.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openSqliteStore } from '../src/deliveries/sqlite-store';
import type { DeliveryRecord } from '../src/deliveries/types';
import { createFlowLimiter } from '../src/limits/create-flow-limiter';
import { openLimitsStore } from '../src/limits/open-limits-store';
import type { MappingSet } from '../src/mappings/types';

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const inFlight = Number(process.argv[3] ?? 32);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-limits-bench-'));
  try {
    // As src/server.ts: the delivery store opens (and migrates) the file, the limits store opens
    // its own connection to it.
    const deliveries = openSqliteStore({ dataDir, sync: 'normal' });
    const store = openLimitsStore({ dataDir }, deliveries);
    const limiter = createFlowLimiter({
      store,
      // No mapping declares limits: every flow is unlimited.
      mappings: () => ({ sources: new Map() }) as unknown as MappingSet,
      defaultOrgId: 'org-1',
      platform: {},
      circuit: { failureRatio: 0.5, windowMs: 60_000, minCalls: 10, coolDownMs: 30_000 },
      logger: pino({ level: 'silent' }),
    });
    const owner = `bench#${process.pid}`;
    const delivery = async (n: number) => {
      const record = {
        id: `d${n}`,
        source: 'github',
        routes: [{ route: 'r', flowId: 'deploy-flow', orgId: 'org-1', variables: {} }],
      } as unknown as DeliveryRecord;
      const decision = await limiter.acquire(record, owner, Date.now() + 60_000);
      if (!decision.granted) throw new Error(`not granted: ${decision.reason}`);
      await limiter.observe('org-1', 'deploy-flow', { kind: 'succeeded', durationMs: 3 });
      await limiter.release(record.id, owner);
    };
    const run = async (from: number, count: number) => {
      for (let i = 0; i < count; i += inFlight) {
        const size = Math.min(inFlight, count - i);
        await Promise.all(Array.from({ length: size }, (_, j) => delivery(from + i + j)));
      }
    };
    await run(0, Math.min(2000, total)); // warm-up: JIT, statement caches
    const cpu = process.cpuUsage();
    const started = performance.now();
    await run(1_000_000, total);
    const used = process.cpuUsage(cpu);
    const wallMs = performance.now() - started;
    const us = (used.user + used.system) / total;
    console.log(
      `${total} deliveries, ${inFlight} in flight: ${us.toFixed(1)} µs CPU per delivery ` +
        `(user ${(used.user / total).toFixed(1)}, system ${(used.system / total).toFixed(1)}; ` +
        `wall ${((wallMs * 1000) / total).toFixed(1)} µs)`,
    );
    await store.close();
    await deliveries.close();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
