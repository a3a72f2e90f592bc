/**
 * Waits until `check` holds (it may read the store, which is asynchronous), polling every
 * `everyMs`; rejects naming `what` after `ms`.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'the condition',
  everyMs = 20,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
