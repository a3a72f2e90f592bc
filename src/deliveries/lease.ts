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

let holds = 0;

/**
 * A name for one hold of a delivery: the process, and a number of its own. Each claim (a sync
 * request, a worker claim, a replay) holds under a new one, so a run whose lease expired and was
 * taken over — even by this same process — no longer matches, and its outcome is not applied.
 */
export function holdOf(processName: string): string {
  holds += 1;
  return `${processName}#${holds}`;
}
