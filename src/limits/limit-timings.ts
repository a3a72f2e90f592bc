/** How long a delivery of a paused source or flow waits before it looks again (resume wakes it sooner). */
export const PAUSED_RECHECK_MS = 30_000;
/** A waiting delivery is never given a time further out than this: it looks again by then. */
export const MAX_WAIT_MS = 60_000;
/** Backoff after a 429 without Retry-After: 1 s, 2 s, 4 s … up to this. */
export const MAX_THROTTLE_MS = 60_000;
/** While a probe runs, the flow's other deliveries look again this often. */
export const PROBE_RECHECK_MS = 1000;
/** The first guess of a call's duration, before one was measured. */
export const FIRST_AVG_MS = 100;
