import fc from 'fast-check';
import { jsonSizeUpTo } from '../../src/routing/json-size-up-to';

const jsonSizeExceeds = (value: unknown, limit: number) => jsonSizeUpTo(value, limit) > limit;

// issue 9 item 3: the execute body is measured without building it, and measured exactly.
describe('jsonSizeUpTo (issue 9 item 3)', () => {
  it('agrees with the byte length of JSON.stringify, on either side of the limit', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: -3, max: 3 }), (value, delta) => {
        const size = Buffer.byteLength(JSON.stringify(value));
        const limit = Math.max(0, size + delta);
        expect(jsonSizeExceeds(value, limit)).toBe(size > limit);
      }),
      { numRuns: 500 },
    );
  });

  it('is the exact size up to the limit', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const size = Buffer.byteLength(JSON.stringify(value));
        expect(jsonSizeUpTo(value, size)).toBe(size);
      }),
      { numRuns: 300 },
    );
  });

  it('counts what JSON.stringify drops or writes as null', () => {
    const value = { a: undefined, b: [undefined, () => 1], c: 'é' };
    const size = Buffer.byteLength(JSON.stringify(value));
    expect(jsonSizeExceeds(value, size)).toBe(false);
    expect(jsonSizeExceeds(value, size - 1)).toBe(true);
  });

  it('stops early on a huge value and survives deep nesting', () => {
    const shared = { x: 'y'.repeat(1000) };
    const wide = Array.from({ length: 1_000_000 }, () => shared);
    expect(jsonSizeExceeds(wide, 10_000)).toBe(true);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(jsonSizeExceeds(deep, 1_000_000)).toBe(false);
  });
});
