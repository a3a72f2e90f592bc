import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError } from '../../src/config';
import { buildOnce } from '../support/flowhook-process';
import { DEFAULT_HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../src/cli/heap-growth';

const ROOT = path.join(__dirname, '..', '..');

/** What limitHeapGrowth returns in a node of its own (a flag it sets stays set for the process). */
function inChild(env: Record<string, string>): string {
  buildOnce();
  const heapGrowth = path.join(ROOT, 'dist', 'src', 'cli', 'heap-growth.js');
  return execFileSync(
    process.execPath,
    ['-e', `console.log(String(require(${JSON.stringify(heapGrowth)}).limitHeapGrowth()))`],
    { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' },
  ).trim();
}

describe('limitHeapGrowth (serve: the old generation grows by at most HEAP_GROWING_PERCENT)', () => {
  it('sets the default, or the percent given', () => {
    expect(inChild({})).toBe(String(DEFAULT_HEAP_GROWING_PERCENT));
    expect(inChild({ HEAP_GROWING_PERCENT: '50' })).toBe('50');
  });

  it('sets nothing for 0 or when node was given the flag', () => {
    expect(limitHeapGrowth({ HEAP_GROWING_PERCENT: '0' })).toBeUndefined();
    expect(limitHeapGrowth({}, ['--heap-growing-percent=300'])).toBeUndefined();
  });

  it('refuses a value that is not a whole number ≥ 0, naming the variable', () => {
    expect(() => limitHeapGrowth({ HEAP_GROWING_PERCENT: 'lots' })).toThrow(ConfigError);
    expect(() => limitHeapGrowth({ HEAP_GROWING_PERCENT: '-5' })).toThrow(
      'HEAP_GROWING_PERCENT: a whole number ≥ 0, got "-5"',
    );
  });
});
