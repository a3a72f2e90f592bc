// How long loading (parse, validate, substitute, compile) takes for a folder of N mapping files.
//   node dist/bench/load-time.js [count...]   (default 1 100 1000)
import os from 'node:os';
import path from 'node:path';
import { loadMappings } from '../src/mappings/load-mappings';
import { generateMappings } from './generate-mappings';

export function measureLoadTime(count: number): {
  count: number;
  coldMs: number;
  ms: number;
  sources: number;
} {
  const dir = path.join(os.tmpdir(), `flowhook-bench-mappings-${count}`);
  generateMappings(path.join(__dirname, '..', '..', 'bench', 'mappings'), dir, count);
  const env = { GITHUB_WEBHOOK_SECRET: 'bench', DEPLOY_FLOW_ID: 'deploy-flow' };
  // The first load in a process also compiles the JSON schema (what a server start pays); a
  // reload in a running server is the warm figure.
  const coldStart = performance.now();
  loadMappings(dir, env);
  const coldMs = performance.now() - coldStart;
  const start = performance.now();
  const set = loadMappings(dir, env);
  const ms = performance.now() - start;
  if (set.errors.length > 0)
    throw new Error(`generated mappings do not load: ${set.errors[0].message}`);
  return { count, coldMs, ms, sources: set.sources.size };
}

if (require.main === module) {
  const counts = process.argv.slice(2).map(Number);
  for (const count of counts.length > 0 ? counts : [1, 100, 1000]) {
    const { ms, sources } = measureLoadTime(count);
    console.log(
      `${String(count).padStart(5)} files: loaded ${sources} sources in ${ms.toFixed(0)} ms`,
    );
  }
}
