import { randomBytes } from 'node:crypto';
import os from 'node:os';

/**
 * How one process holds deliveries: resolved once per app (server.ts, or createApp when it is
 * embedded) and shared by the hook route, the admin API's replay and the worker, so they agree on
 * the lease length and never reuse a holder name.
 */
export interface Leases {
  /** This process, as it names itself in leases: host, pid and a random part. */
  readonly processName: string;
  /** How long a hold lasts; a holder that crashed loses the delivery after this. */
  readonly leaseMs: number;
  /**
   * A name for one hold of a delivery: the process, and a number of its own. Each claim (a sync
   * request, a worker claim, a replay) holds under a new one, so a run whose lease expired and was
   * taken over — even by this same process — no longer matches, and its outcome is not applied.
   */
  newHolder(): string;
}

/**
 * The leases of one process. The length: one execute call can take FLOW_TIMEOUT, and a fan-out
 * runs its routes at once, so twice that plus a margin; `leaseMs` overrides it (tests).
 */
export function createLeases(options: {
  readonly flowTimeoutMs: number;
  readonly leaseMs?: number;
  readonly processName?: string;
}): Leases {
  const processName =
    options.processName ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  let holds = 0;
  return {
    processName,
    leaseMs: options.leaseMs ?? 2 * options.flowTimeoutMs + 5000,
    newHolder() {
      holds += 1;
      return `${processName}#${holds}`;
    },
  };
}
