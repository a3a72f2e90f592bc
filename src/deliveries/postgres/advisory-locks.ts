/**
 * The advisory locks flowhook takes, as (space, lock) pairs: the space is 'flow' in ASCII, so
 * they do not collide with another application's single-number locks on the same database.
 */
export const ADVISORY_LOCK_SPACE = 0x666c6f77;
/** Held by the instance applying a migration (the others wait, then find it done). */
export const MIGRATION_LOCK = 1;
/** Held by the instance pruning a batch (the others skip their turn). */
export const PRUNE_LOCK = 2;
/**
 * Spaces of their own for the limits store's per-flow and per-org locks (keyed by hashtext of
 * the name): 'flol' and 'floo'. Two names with one hash only share a lock, never a budget.
 */
export const FLOW_LOCK_SPACE = 0x666c6f6c;
export const ORG_LOCK_SPACE = 0x666c6f6f;
