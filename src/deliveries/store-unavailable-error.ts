/**
 * The delivery store cannot be reached (connection refused or lost, the database restarting):
 * nothing was written. The HTTP layer answers it 503 store_unavailable with Retry-After, never
 * 500, and the instance recovers by itself once the store answers again.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StoreUnavailableError';
  }
}
