// How fast one core runs right now (issue 15). On this machine kind a core sometimes runs the same
// code ~30% slower for tens of seconds: a fixed loop pinned to core 1 ran ~700 pieces of work a
// second for 28 s, then ~1,010, while the same loop on core 0 ran ~1,000 throughout; something
// outside the machine takes part of the core. A server measured in such a phase costs 1.4× as
// much CPU per answer, and the bench measures its servers one after the other, so a ratio of two
// servers' rates can be the core's doing. The bench reads each core it measures on before and
// after each server's run, with no server running, and the report says which runs saw a slow core.
//
//   taskset -c N node dist/bench/core-speed.js [ms]
//
// Runs a fixed piece of work (a JSON round trip and a SHA-256 of 1 KB, all in the L1/L2 caches)
// over and over for `ms` (default 500) and prints the pieces done per ms of its own CPU time. CPU
// time, not wall time: another process taking the core meanwhile does not lower the figure; a
// slower core does. Two readings of an idle core are ~3% apart.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';

const block = Buffer.alloc(1024, 0x5a);
const record = { id: 'd6f1', state: 'succeeded', routes: [{ route: 'push', flowId: 'f' }], n: 0 };

/** One piece of work; its result is used, so that no part of it can be left out. */
function piece(i: number): number {
  record.n = i;
  const text = JSON.stringify(record);
  const parsed = JSON.parse(text) as { n: number };
  const digest = createHash('sha256').update(block).update(text).digest();
  return parsed.n + digest[0];
}

/** Pieces per ms of this process's CPU time, over `ms` of wall time (after a short warm-up). */
function readSpeed(ms: number): number {
  let sink = 0;
  for (let i = 0; i < 2000; i++) sink += piece(i);
  const before = process.cpuUsage();
  const end = performance.now() + ms;
  let pieces = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) sink += piece(i);
    pieces += 50;
  }
  const used = process.cpuUsage(before);
  if (sink === Number.MIN_VALUE) return 0;
  return pieces / ((used.user + used.system) / 1000);
}

/**
 * Reads the speed of each of `cores` at once (one probe per core, each pinned with taskset), for
 * `ms`: what the cores run at now, with nothing of the bench on them. Null when taskset or the
 * probe fails (the report then leaves the column out).
 */
export async function coreSpeeds(cores: readonly number[], ms = 500): Promise<number[] | null> {
  const probe = path.join(__dirname, 'core-speed.js');
  try {
    return await Promise.all(
      cores.map(
        (core) =>
          new Promise<number>((resolve, reject) => {
            execFile(
              'taskset',
              ['-c', String(core), process.execPath, probe, String(ms)],
              { timeout: ms + 10_000 },
              (error, stdout) => {
                const speed = Number(stdout.trim());
                if (error || !Number.isFinite(speed) || speed <= 0)
                  reject(error ?? new Error(`core-speed printed ${stdout.trim()}`));
                else resolve(speed);
              },
            );
          }),
      ),
    );
  } catch {
    return null;
  }
}

if (require.main === module) {
  const ms = Number(process.argv[2] ?? 500);
  if (!Number.isFinite(ms) || ms < 50) {
    console.error('usage: node dist/bench/core-speed.js [ms ≥ 50]');
    process.exit(2);
  }
  console.log(readSpeed(ms).toFixed(1));
}
