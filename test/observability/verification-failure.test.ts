import { verificationFailure } from '../../src/observability/verification-failure';

// The verifiers' own phrasings (src/verify), each counted under one fixed reason.
describe('verificationFailure(reason)', () => {
  it.each([
    ['missing X-Hub-Signature-256 header', 'missing'],
    ['missing Authorization header', 'missing'],
    ['no timestamp in Stripe-Signature header', 'missing'],
    ['no v1 signature in Stripe-Signature header', 'missing'],
    ['the body has no signature.timestamp, signature.token and signature.signature', 'missing'],
    ['X-Cal-Signature-256 holds no signature: the Cal.com webhook has no secret set', 'missing'],
    ['malformed X-Hub-Signature-256 header (expected sha256=<signature>)', 'malformed'],
    ['malformed timestamp in webhook-timestamp header (expected seconds)', 'malformed'],
    ['Authorization header is not Basic credentials', 'malformed'],
    ['unsupported X-HubSpot-Signature-Version (expected v1 or v2)', 'malformed'],
    ['signature does not match', 'mismatch'],
    ['X-Gitlab-Token does not match', 'mismatch'],
    ['credentials do not match', 'mismatch'],
    ['timestamp outside the 300 s tolerance (too old)', 'stale'],
    ['timestamp outside the 300 s tolerance (too far in the future)', 'stale'],
    ['signature token already used with another body (replay)', 'replay'],
    ['anything a future preset says', 'mismatch'],
  ])('%s → %s', (reason, kind) => {
    expect(verificationFailure(reason)).toBe(kind);
  });
});
