import { parseTimestamp, type TimestampUnit } from '../../src/verify/parse-timestamp';

describe('parseTimestamp()', () => {
  it.each<[unknown, TimestampUnit, number | null]>([
    ['1767225600', 's', 1767225600000],
    [1767225600, 's', 1767225600000],
    ['1767225600000', 'ms', 1767225600000],
    [1767225600000, 'ms', 1767225600000],
    ['2021-09-21T19:04:56Z', 'iso', Date.UTC(2021, 8, 21, 19, 4, 56)],
    ['2021-09-21T21:04:56+02:00', 'iso', Date.UTC(2021, 8, 21, 19, 4, 56)],
    ['2021-09-21T19:04:56.123Z', 'iso', Date.UTC(2021, 8, 21, 19, 4, 56, 123)],
    ['2021-09-21T19:04:56', 'iso', null],
    ['2021-02-30T00:00:00Z', 'iso', null],
    ['1e9', 's', null],
    ['-1', 's', null],
    ['12.5', 's', null],
    [12.5, 'ms', null],
    ['', 's', null],
    [' 1767225600', 's', null],
    ['9999999999999', 's', null],
    [null, 'ms', null],
    [['1767225600'], 's', null],
  ])('parseTimestamp(%j, %s) → %s', (raw, unit, want) => {
    expect(parseTimestamp(raw, unit)).toBe(want);
  });
});
