import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import { createFlowLimiter } from '../../src/limits/create-flow-limiter';
import { openSqliteLimitsStore } from '../../src/limits/sqlite-limits-store';
import { loadMappings } from '../../src/mappings/load-mappings';
import { createMetrics } from '../../src/observability/metrics';
import { registerScrapeGauges } from '../../src/observability/scrape-gauges';
import { mappingsDir, memoryLogger } from '../support/harness';
import { parseMetrics, sample } from './prometheus-text';

// Issue 14's circuit breaker and 429 handling, as /metrics shows them (issue 12).
describe('circuit and throttle metrics', () => {
  it('an opened circuit is a transition and state 2; a 429 is a throttle', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-circuit-metrics-'));
    const limits = openSqliteLimitsStore({ dataDir });
    const store = openSqliteStore({ dataDir });
    const metrics = createMetrics({ defaultMetrics: false });
    const mappings = loadMappings(mappingsDir({}), {});
    registerScrapeGauges(metrics.registry, { store, mappings: () => mappings, limits });
    const limiter = createFlowLimiter({
      store: limits,
      mappings: () => mappings,
      defaultOrgId: 'org-1',
      platform: {},
      circuit: { failureRatio: 0.5, windowMs: 60_000, minCalls: 2, coolDownMs: 60_000 },
      logger: memoryLogger().logger,
      metrics,
    });
    try {
      await limiter.observe('org-1', 'flow-x', { kind: 'failed' });
      await limiter.observe('org-1', 'flow-x', { kind: 'failed' });
      await limiter.observe('org-1', 'flow-y', { kind: 'throttled', retryAfterMs: 1000 });
      await limiter.observe('org-1', 'flow-z', { kind: 'succeeded' });
      const m = parseMetrics(await metrics.registry.metrics());
      expect(sample(m, 'flowhook_circuit_transitions_total', { flow: 'flow-x', to: 'open' })).toBe(
        1,
      );
      expect(sample(m, 'flowhook_circuit_state', { flow: 'flow-x' })).toBe(2);
      expect(sample(m, 'flowhook_circuit_state', { flow: 'flow-z' })).toBe(0);
      expect(sample(m, 'flowhook_flow_throttled_total', { flow: 'flow-y' })).toBe(1);
    } finally {
      await limits.close();
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
