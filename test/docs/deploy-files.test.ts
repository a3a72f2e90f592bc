import fs from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { createMetrics } from '../../src/observability/metrics';
import { registerScrapeGauges } from '../../src/observability/scrape-gauges';
import { loadMappings } from '../../src/mappings/load-mappings';
import { mappingsDir, testStore } from '../support/harness';
import type { LimitsStore } from '../../src/limits/types';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** Every metric name a query may use: the real registry's, with the histogram series' suffixes. */
async function exportedNames(): Promise<Set<string>> {
  const metrics = createMetrics();
  const store = testStore();
  registerScrapeGauges(metrics.registry, {
    store,
    mappings: () => loadMappings(mappingsDir({}), {}),
    limits: { flows: async () => [] } as unknown as LimitsStore,
  });
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_count', '_sum']) names.add(metric.name + suffix);
    }
  }
  await store.close();
  return names;
}

/** The metric names an expression uses: identifiers not followed by `(` and not label names. */
function metricsIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}');
  const withoutGrouping = withoutStrings.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...withoutGrouping.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1])
    .filter((name) => name.includes('_') || name === 'up');
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}

describe('deploy/ (issue 12)', () => {
  let names: Set<string>;
  beforeAll(async () => {
    names = await exportedNames();
  });

  it('the registry exports every metric of the issue’s table', () => {
    for (const name of [
      'flowhook_requests_total',
      'flowhook_request_duration_seconds',
      'flowhook_verification_failures_total',
      'flowhook_deliveries_total',
      'flowhook_executions_total',
      'flowhook_execute_duration_seconds',
      'flowhook_retries_total',
      'flowhook_queue_depth',
      'flowhook_queue_oldest_age_seconds',
      'flowhook_store_write_duration_seconds',
      'flowhook_mappings_loaded',
      'flowhook_mapping_errors',
      'flowhook_mappings_reload_timestamp_seconds',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('deploy/prometheus/flowhook-rules.yml: every alert names exported metrics only', () => {
    const file = load(read('deploy/prometheus/flowhook-rules.yml')) as {
      groups: { name: string; rules: Rule[] }[];
    };
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'FlowhookSignatureFailuresSpike',
        'FlowhookBacklogOld',
        'FlowhookDeliveriesDead',
        'FlowhookExecuteErrorRatio',
        'FlowhookMappingErrors',
        'FlowhookNotReady',
      ]),
    );
    for (const rule of rules) {
      const used = metricsIn(rule.expr);
      expect({
        alert: rule.alert,
        used: used.filter((n) => n.startsWith('flowhook_')).length > 0,
      }).toEqual({
        alert: rule.alert,
        used: true,
      });
      for (const name of used) {
        if (name !== 'up')
          expect({ alert: rule.alert, name, exported: names.has(name) }).toMatchObject({
            exported: true,
          });
      }
      expect(rule.labels?.severity).toMatch(/^(warning|critical)$/);
      expect(rule.annotations?.summary).toBeTruthy();
    }
  });

  it('deploy/grafana/flowhook-dashboard.json: every panel query names exported metrics only', () => {
    const dashboard = JSON.parse(read('deploy/grafana/flowhook-dashboard.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const { expr } of panel.targets) {
        const used = metricsIn(expr);
        expect({ panel: panel.title, used: used.length > 0 }).toEqual({
          panel: panel.title,
          used: true,
        });
        for (const name of used) {
          expect({ panel: panel.title, name, exported: names.has(name) }).toMatchObject({
            exported: true,
          });
        }
      }
    }
  });

  it('docs/operations.md describes every exported flowhook metric', () => {
    const doc = read('docs/operations.md');
    for (const name of names) {
      if (!name.startsWith('flowhook_') || /_(bucket|count|sum)$/.test(name)) continue;
      expect({ name, documented: doc.includes(`\`${name}\``) }).toEqual({ name, documented: true });
    }
  });
});
