// The servers' resident memory during a run, from /proc (Linux): at the start and end of the
// measured run (growth), and the peak over warm-up and run.
import fs from 'node:fs';

/** Resident set size of one process in bytes; null when /proc has no such process. */
export function rssOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The summed RSS of several processes (the instances of one server); null if one is unknown. */
export function rssOfAll(pids: readonly (number | undefined)[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const rss = rssOf(pid);
    if (rss === null) return null;
    total += rss;
  }
  return total;
}

export interface RssSampler {
  /** The highest summed RSS seen since start (null when /proc is unavailable). */
  peak(): number | null;
  stop(): void;
}

/** Samples the summed RSS every `everyMs` (a cheap read of /proc, off the servers' own thread). */
export function sampleRss(pids: readonly (number | undefined)[], everyMs = 250): RssSampler {
  let peak: number | null = rssOfAll(pids);
  const timer = setInterval(() => {
    const now = rssOfAll(pids);
    if (now !== null && (peak === null || now > peak)) peak = now;
  }, everyMs);
  timer.unref();
  return {
    peak: () => peak,
    stop: () => clearInterval(timer),
  };
}
