import { randomBytes } from 'node:crypto';
import os from 'node:os';

/** This process, as it names itself in delivery leases: host, pid and a random part. */
export function processOwner(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * How long a delivery is held while it runs: one execute call can take FLOW_TIMEOUT, and a fan-out
 * runs its routes at once, so twice that plus a margin. A holder that crashed loses it after this.
 */
export function leaseFor(flowTimeoutMs: number): number {
  return 2 * flowTimeoutMs + 5000;
}
