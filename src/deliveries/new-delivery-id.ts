import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
// Random bytes fetched in blocks (as crypto.randomUUID does): one system call per 256 ids.
const POOL = Buffer.alloc(10 * 256);
let next = POOL.length;

/**
 * A new delivery id: a UUID version 7 (RFC 9562 §5.7), the Unix time in ms in its first 48 bits,
 * then 74 random bits. Ids made one after the other sort together, so a new delivery's entry in
 * the stores' primary-key index goes at its end instead of on a random page: fewer pages written
 * per commit, and no page read back once the index outgrows the cache (issue 15). The console's
 * short id is an id's last 8 characters, the random ones. 74 random bits keep an id as hard to
 * guess as needed (every read of a delivery is behind ADMIN_TOKEN anyway); what an id reveals is
 * when it was received, which the delivery's answer says too.
 */
export function newDeliveryId(now: number = Date.now()): string {
  if (next === POOL.length) {
    randomFillSync(POOL);
    next = 0;
  }
  const r = next;
  next += 10;
  const high = Math.floor(now / 0x1000000); // the top 24 bits of the 48-bit ms count
  const low = now % 0x1000000;
  return (
    HEX[(high >>> 16) & 0xff] +
    HEX[(high >>> 8) & 0xff] +
    HEX[high & 0xff] +
    HEX[(low >>> 16) & 0xff] +
    '-' +
    HEX[(low >>> 8) & 0xff] +
    HEX[low & 0xff] +
    '-' +
    HEX[0x70 | (POOL[r] & 0x0f)] + // version 7
    HEX[POOL[r + 1]] +
    '-' +
    HEX[0x80 | (POOL[r + 2] & 0x3f)] + // variant 10
    HEX[POOL[r + 3]] +
    '-' +
    HEX[POOL[r + 4]] +
    HEX[POOL[r + 5]] +
    HEX[POOL[r + 6]] +
    HEX[POOL[r + 7]] +
    HEX[POOL[r + 8]] +
    HEX[POOL[r + 9]]
  );
}
