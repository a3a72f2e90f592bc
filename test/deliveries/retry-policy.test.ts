import { FlowhookError } from '../../src/errors';
import {
  DEFAULT_RETRY_POLICY,
  mayPass,
  retryDelay,
  upstreamStatus,
} from '../../src/deliveries/retry-policy';
import { retryAfterMs } from '../../src/flows/create-flow-client';

const upstream = (status: number) =>
  new FlowhookError('upstream_error', `the flow API answered ${status}`, {
    upstream: { status, error: '' },
  });

/** What run-delivery records for a failed call: the error's code and the flow API's status. */
const recorded = (error: FlowhookError) => ({
  code: error.code,
  httpStatus: upstreamStatus(error),
});

describe('retry policy', () => {
  // Issue 10 item 13: the decision is made from the stored attempt (mayPass), not from the
  // thrown error; a helper that decided from the error was used nowhere and is gone.
  it.each([
    [upstream(500), true],
    [upstream(503), true],
    [upstream(429), true],
    [new FlowhookError('upstream_unreachable', 'x'), true],
    [new FlowhookError('upstream_timeout', 'x'), true],
    [upstream(400), false],
    [upstream(401), false],
    [upstream(404), false],
    [upstream(200), false],
    [new FlowhookError('missing_variables', 'x'), false],
    // Anything that is not a FlowhookError is recorded as internal (a bug): not retried.
    [new FlowhookError('internal', 'internal error'), false],
  ])('mayPass(the attempt recorded for %s) → %s', (error, expected) => {
    expect(mayPass(recorded(error))).toBe(expected);
  });

  it('an attempt stored without an HTTP status (no answer) only passes for network errors', () => {
    expect(mayPass({ code: 'upstream_error' })).toBe(false);
    expect(mayPass({ code: 'upstream_unreachable' })).toBe(true);
  });

  it('delays double per attempt, half fixed and half jittered, capped', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1000, maxDelayMs: 60_000 };
    expect([1, 2, 3, 4].map((n) => retryDelay(policy, n, undefined, () => 0))).toEqual([
      500, 1000, 2000, 4000,
    ]);
    expect([1, 2, 3, 4].map((n) => retryDelay(policy, n, undefined, () => 1))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect(retryDelay(policy, 20, undefined, () => 1)).toBe(60_000);
  });

  it('Retry-After wins, even past the cap', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 10, maxDelayMs: 100 };
    expect(retryDelay(policy, 1, 3000, () => 0)).toBe(3000);
    expect(retryDelay(policy, 1, 1, () => 1)).toBe(10);
  });

  it.each([
    ['120', 120_000],
    [' 5 ', 5000],
    ['Wed, 21 Oct 2015 07:28:10 GMT', 10_000],
    ['Wed, 21 Oct 2015 07:27:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('Retry-After %j → %s ms', (value, expected) => {
    expect(retryAfterMs(value, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(expected);
  });
});
