import { newDeliveryId } from '../../src/deliveries/new-delivery-id';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newDeliveryId (issue 15: time-ordered ids)', () => {
  it('is a UUID version 7 carrying the time in ms in its first 48 bits', () => {
    const at = Date.UTC(2026, 10, 30, 21, 20, 0, 123);
    const id = newDeliveryId(at);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
  });

  it('ids of later milliseconds sort after earlier ones, as text', () => {
    const start = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 1000 }, (_, i) => newDeliveryId(start + i * 7));
    expect([...ids].sort()).toEqual(ids);
  });

  it('ids of one millisecond differ, in their last 8 characters too, across refills of the pool', () => {
    const now = Date.now();
    const ids = Array.from({ length: 5000 }, () => newDeliveryId(now));
    expect(new Set(ids).size).toBe(5000);
    // The console's short id: 32 random bits; 5000 of them almost never collide (p ≈ 0.003).
    expect(new Set(ids.map((id) => id.slice(-8))).size).toBeGreaterThan(4990);
    for (const id of ids) expect(id).toMatch(UUID_V7);
  });

  it('covers the whole 48-bit range of ms', () => {
    expect(newDeliveryId(0).slice(0, 13)).toBe('00000000-0000');
    expect(newDeliveryId(2 ** 48 - 1).slice(0, 13)).toBe('ffffffff-ffff');
  });
});
