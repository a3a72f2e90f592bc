import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Measured } from '../../bench/measured';
import { bestCoreSpeeds, coreShare } from '../../bench/report';
import { buildOnce } from '../support/flowhook-process';

const run = promisify(execFile);
const PROBE = path.join(__dirname, '..', '..', 'dist', 'bench', 'core-speed.js');

function measured(cores: number[], before: number[], after: number[]): Measured {
  return {
    name: 'flowhook',
    placement: 'pinned',
    status: 'ok',
    coreSpeed: { cores, before, after },
  };
}

describe('the bench reading of core speeds', () => {
  it("takes each core's best reading of the bench, before or after any run", () => {
    const best = bestCoreSpeeds([
      measured([1], [300], [280]),
      measured([0, 1], [250, 310], [260, 305]),
      { name: 'express', placement: 'pinned', status: 'failed' },
    ]);
    expect([...best.entries()].sort()).toEqual([
      [0, 260],
      [1, 310],
    ]);
  });

  it("gives a run the slowest of its cores' readings, as a share of that core's best", () => {
    const best = new Map([
      [0, 200],
      [1, 300],
    ]);
    expect(coreShare(measured([1], [300], [240]), best)).toBeCloseTo(0.8);
    // Core 0 read 180 of its 200 (0.9), core 1 all of its 300: the run is as slow as core 0.
    expect(coreShare(measured([0, 1], [180, 300], [200, 300]), best)).toBeCloseTo(0.9);
    expect(coreShare({ name: 'express', placement: 'shared', status: 'ok' }, best)).toBeUndefined();
  });

  describe('the probe', () => {
    beforeAll(() => buildOnce(), 120_000);

    it('prints the work it did per ms of its CPU time', async () => {
      const { stdout } = await run(process.execPath, [PROBE, '100']);
      expect(Number(stdout.trim())).toBeGreaterThan(0);
    });

    it('refuses a reading too short to mean anything, with its usage', async () => {
      const failed = await run(process.execPath, [PROBE, '10']).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(2);
      expect(failed?.stderr).toContain('usage');
    });
  });
});
