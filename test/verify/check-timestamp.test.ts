import { checkTimestamp, resolveTolerance } from '../../src/verify/check-timestamp';
import { VerifySpecError } from '../../src/verify/types';

const T = 1_767_225_600_000;

describe('checkTimestamp()', () => {
  it.each<[string, number, number, string | null]>([
    ['at the timestamp', T, 300, null],
    ['300 s later (edge)', T + 300_000, 300, null],
    ['300 s earlier (edge)', T - 300_000, 300, null],
    [
      '1 ms past the window, later',
      T + 300_001,
      300,
      'timestamp outside the 300 s tolerance (too old)',
    ],
    [
      '1 ms past the window, earlier',
      T - 300_001,
      300,
      'timestamp outside the 300 s tolerance (too far in the future)',
    ],
    ['a year later with tolerance 0', T + 31_536_000_000, 0, null],
  ])('checkTimestamp() %s → %s', (_situation, now, tolerance, want) => {
    expect(checkTimestamp(T, now, tolerance)).toBe(want);
  });
});

describe('resolveTolerance()', () => {
  it.each<[number | undefined, number]>([
    [undefined, 300],
    [0, 0],
    [60, 60],
  ])('resolveTolerance(%s, 300) → %s', (tolerance, want) => {
    expect(resolveTolerance(tolerance, 300)).toBe(want);
  });

  it.each([-1, Number.NaN, Infinity])(
    'resolveTolerance(%s) → throws VerifySpecError',
    (tolerance) => {
      expect(() => resolveTolerance(tolerance, 300)).toThrow(VerifySpecError);
    },
  );
});
