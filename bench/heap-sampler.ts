// Preloaded with `node --require` into a server that bench/allocations.ts measures: V8's sampling
// heap profiler, started and stopped by signals, so that only the counted requests are sampled.
//   SIGUSR2   start sampling (about one sample per HEAP_SAMPLE_INTERVAL bytes allocated)
//   SIGWINCH  stop, and write the profile to HEAP_SAMPLE_FILE (then `<file>.done`)
// HEAP_SAMPLE_LIVE=1: keep only what is still alive when sampling stops, after a full collection
// (needs --expose-gc): what the requests in flight hold at that moment. HEAP_SAMPLE_PROMOTED=1:
// keep what the young generation's collections (scavenges) did not free: what outlived them into
// the old space, the work of the scavenger's copies and of the mark-compacts. Otherwise what the
// collector freed is kept too: everything allocated while sampling.
import fs from 'node:fs';
import inspector from 'node:inspector';

const file = process.env.HEAP_SAMPLE_FILE;
const live = process.env.HEAP_SAMPLE_LIVE === '1';
const promoted = process.env.HEAP_SAMPLE_PROMOTED === '1';
const interval = Number(process.env.HEAP_SAMPLE_INTERVAL ?? '8192');

if (file) {
  const session = new inspector.Session();
  session.connect();
  const report = (error: Error | null) => {
    if (error) console.error(`heap-sampler: ${error.message}`);
  };
  process.on('SIGUSR2', () => {
    session.post('HeapProfiler.enable', (error) => {
      if (error) return report(error);
      session.post(
        'HeapProfiler.startSampling',
        {
          samplingInterval: interval,
          includeObjectsCollectedByMajorGC: !live,
          includeObjectsCollectedByMinorGC: !live && !promoted,
        },
        report,
      );
    });
  });
  process.on('SIGWINCH', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (live && gc) gc();
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error) return report(error);
      fs.writeFileSync(file, JSON.stringify(result.profile));
      fs.writeFileSync(`${file}.done`, '');
    });
  });
}
