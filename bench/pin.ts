// --pin: the load generator and the fake flow API on core 0, the server on core 1 (taskset), so
// the server's own cost is measured without its two neighbours taking turns on its core.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The two placements a run can have: every process on every core, or pinned as above. */
export type Placement = 'shared' | 'pinned';

/** The cores of this machine as a taskset list (`0-1`): what `shared` restores. */
const ALL_CORES = `0-${os.cpus().length - 1}`;

/** The core a pinned server runs on. */
const SERVER_CORE = 1;

/** The cores a server of this placement runs on. */
export function serverCores(placement: Placement): number[] {
  return placement === 'pinned' ? [SERVER_CORE] : os.cpus().map((_, core) => core);
}

/** Whether pinning is possible here: taskset exists and there are at least two cores. */
export function canPin(): boolean {
  if (os.cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Places this process (the load generator, every thread of it) for a run; the fake flow API,
 * spawned after, inherits it. `shared` gives every core back.
 */
export function placeLoadGenerator(placement: Placement): void {
  const cores = placement === 'pinned' ? '0' : ALL_CORES;
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(process.pid)], { stdio: 'ignore' });
}

/** The command that starts a server: under `taskset -c 1` when pinned (taskset execs it: same pid). */
export function serverCommand(
  placement: Placement,
  args: readonly string[],
): { command: string; args: string[] } {
  return placement === 'pinned'
    ? { command: 'taskset', args: ['-c', String(SERVER_CORE), process.execPath, ...args] }
    : { command: process.execPath, args: [...args] };
}
