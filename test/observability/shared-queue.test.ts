import { openPostgresStore } from '../../src/deliveries/postgres/open-postgres-store';
import type { DeliveryStore } from '../../src/deliveries/types';
import { loadMappings } from '../../src/mappings/load-mappings';
import { createMetrics } from '../../src/observability/metrics';
import { registerScrapeGauges } from '../../src/observability/scrape-gauges';
import { newDelivery } from '../deliveries/support';
import { mappingsDir } from '../support/harness';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { parseMetrics, sample } from './prometheus-text';

// Issue 12: with PostgreSQL and several instances, the queue gauges report the shared queue.
describe('queue gauges on PostgreSQL', () => {
  let database: TestDatabase;
  const stores: DeliveryStore[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await database.drop();
  });

  it('an instance reports the deliveries another instance queued, and their age', async () => {
    const now = 1_800_000_000_000;
    const a = await openPostgresStore({ url: database.url, poolSize: 2 });
    const b = await openPostgresStore({ url: database.url, poolSize: 2 });
    stores.push(a, b);
    await a.create(newDelivery({ receivedAt: now - 90_000 }), 86_400_000);
    await a.create(newDelivery({ receivedAt: now - 1000 }), 86_400_000);
    await a.create(newDelivery({ receivedAt: now - 5000, state: 'dead' }), 86_400_000);

    const metrics = createMetrics({ defaultMetrics: false });
    const mappings = loadMappings(mappingsDir({}), {});
    registerScrapeGauges(metrics.registry, { store: b, mappings: () => mappings, now: () => now });
    const m = parseMetrics(await metrics.registry.metrics());
    expect(sample(m, 'flowhook_queue_depth', { state: 'queued' })).toBe(2);
    expect(sample(m, 'flowhook_queue_depth', { state: 'running' })).toBe(0);
    expect(sample(m, 'flowhook_queue_depth', { state: 'dead' })).toBe(1);
    expect(sample(m, 'flowhook_queue_oldest_age_seconds')).toBe(90);
    expect(sample(m, 'flowhook_ready')).toBe(1);
  });

  it('a store that does not answer: flowhook_ready 0, and the scrape still answers', async () => {
    const gone = await openPostgresStore({ url: database.url, poolSize: 1 });
    await gone.close();
    const metrics = createMetrics({ defaultMetrics: false });
    const mappings = loadMappings(mappingsDir({}), {});
    registerScrapeGauges(metrics.registry, { store: gone, mappings: () => mappings });
    const m = parseMetrics(await metrics.registry.metrics());
    expect(sample(m, 'flowhook_ready')).toBe(0);
    expect(sample(m, 'flowhook_mappings_loaded')).toBe(0);
  });
});
