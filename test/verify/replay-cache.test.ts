import { createReplayCache } from '../../src/verify/replay-cache';

describe('createReplayCache()', () => {
  it('admit() with a new token → true, and remembers it', () => {
    const cache = createReplayCache(10);
    expect(cache.admit('t1', 'd1', 0, 1000)).toBe(true);
    expect(cache.size).toBe(1);
  });

  it.each([
    ['the same digest', 'd1', true],
    ['another digest', 'd2', false],
  ])('admit() with a known token and %s → %s', (_situation, digest, want) => {
    const cache = createReplayCache(10);
    cache.admit('t1', 'd1', 0, 1000);
    expect(cache.admit('t1', digest, 10, 1010)).toBe(want);
  });

  it('admit() after the entry expired → forgets it and accepts another digest', () => {
    const cache = createReplayCache(10);
    cache.admit('t1', 'd1', 0, 1000);
    expect(cache.admit('t1', 'd2', 1000, 2000)).toBe(true);
  });

  it('admit() past max entries → evicts the oldest first, bounded', () => {
    const cache = createReplayCache(3);
    for (const token of ['a', 'b', 'c', 'd']) cache.admit(token, 'x', 0, Infinity);
    expect(cache.size).toBe(3);
    expect(cache.admit('a', 'other', 0, Infinity)).toBe(true);
    expect(cache.admit('d', 'other', 0, Infinity)).toBe(false);
  });

  it('admit() 100 000 times with max 1000 → never holds more than 1000', () => {
    const cache = createReplayCache(1000);
    for (let i = 0; i < 100_000; i += 1) cache.admit(`t${i}`, 'x', i, i + 1_000_000);
    expect(cache.size).toBe(1000);
  });
});
