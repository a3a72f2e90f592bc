import type { Measured } from '../../bench/measured';
import { printRounds, type ReportOptions } from '../../bench/report';

const opts: ReportOptions = {
  only: ['express', 'flowhook'],
  profile: [],
  connections: 32,
  placements: ['pinned'],
};

function run(name: 'express' | 'flowhook', round: number, rate: number): Measured {
  return {
    name,
    placement: 'pinned',
    round,
    status: 'ok',
    rps: rate,
    execRate: rate,
    p99: 40,
    coreSpeed: { cores: [1], before: [300], after: [300] },
  };
}

/** What printRounds writes, as one string. */
function printed(all: Measured[]): string {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
  try {
    printRounds(all, opts, 'pinned');
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

describe("the bench's per-round ratios", () => {
  it('compares each round with the baseline of the same round', () => {
    const out = printed([
      run('express', 1, 1000),
      run('flowhook', 1, 900),
      run('express', 2, 2000),
      run('flowhook', 2, 1800),
    ]);
    expect(out).toContain('flowhook/express executions/s per round: 0.90  0.90');
  });

  it('leaves out a round that failed for one server instead of pairing the next one with it', () => {
    const out = printed([
      run('express', 1, 1000),
      run('flowhook', 1, 900),
      run('express', 2, 2000),
      { name: 'flowhook', placement: 'pinned', round: 2, status: 'failed', note: 'exited' },
      run('express', 3, 1500),
      run('flowhook', 3, 1200),
    ]);
    // By position, the third round's flowhook (1200) would have met the second's express (2000).
    expect(out).toContain('flowhook/express executions/s per round: 0.90  0.80');
    expect(out).not.toContain('0.60');
  });
});
