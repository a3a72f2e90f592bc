import fc from 'fast-check';
import { createPreset } from '../../src/verify/create-preset';
import { signRequest } from '../../src/verify/sign-request';
import type { VerifySpec } from '../../src/verify/types';
import { fuzzRuns } from './fuzz-runs';

// Issue 9, "a fuzz suite that stays": for every preset that signs the body, only the exact
// signed bytes verify. Each case signs random bytes the way the provider does (sign-request.ts)
// and checks that those bytes verify and that any other bytes (one byte changed, one byte more
// or less, any other body) do not.
const NOW = 1_767_225_600_000;
const URL = 'https://hooks.example.com/hooks/source';
const SW = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

const SPECS: VerifySpec[] = [
  { provider: 'github', secrets: ['gh-secret-property'] },
  { provider: 'stripe', secrets: ['whsec_stripe_property'] },
  { provider: 'standard-webhooks', secrets: [SW] },
  { provider: 'svix', secrets: [SW] },
  { provider: 'gitlab', secrets: [SW] },
  { provider: 'slack', secrets: ['slack-signing-property'] },
  { provider: 'shopify', secrets: ['shopify-secret-property'] },
  { provider: 'typeform', secrets: ['typeform-secret-property'] },
  { provider: 'tally', secrets: ['tally-secret-property'] },
  { provider: 'paddle', secrets: ['pdl_ntfset_property'] },
  { provider: 'zendesk', secrets: ['zendesk-secret-property'] },
  { provider: 'intercom', secrets: ['intercom-secret-property'] },
  { provider: 'calendly', secrets: ['calendly-key-property'] },
  { provider: 'calcom', secrets: ['calcom-secret-property'] },
  { provider: 'webflow', secrets: ['webflow-secret-property'] },
  { provider: 'square', secrets: ['square-key-property'], publicUrl: URL },
  { provider: 'hubspot', secrets: ['hubspot-secret-property'], publicUrl: URL },
  { provider: 'twilio', secrets: ['twilio-token-property'], publicUrl: URL },
  {
    provider: 'hmac',
    secrets: ['hmac-secret-property'],
    header: 'X-Acme-Signature',
    separator: ',',
    prefix: 'v1=',
    timestampPrefix: 't=',
    signedContent: '{timestamp}.{body}',
  } as VerifySpec,
];

function verifies(spec: VerifySpec, signedBody: Buffer, sentBody: Buffer): boolean {
  const { verify } = createPreset(spec);
  const signed = signRequest(spec, {
    rawBody: signedBody,
    method: 'POST',
    url: URL,
    now: NOW,
    headers: { 'Content-Type': 'application/json' },
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
  const url = new globalThis.URL(signed.url);
  return verify({
    rawBody: sentBody,
    headers,
    method: 'POST',
    url: signed.url,
    query: Object.fromEntries(url.searchParams),
    now: NOW,
  }).ok;
}

const body = fc.uint8Array({ minLength: 1, maxLength: 512 }).map((bytes) => Buffer.from(bytes));

describe('issue 9 fuzz: only the exact signed bytes verify (fast-check)', () => {
  it.each(SPECS.map((spec) => [spec.provider, spec] as const))('%s', (_name, spec) => {
    fc.assert(
      fc.property(body, fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, at, flip) => {
        expect(verifies(spec, bytes, bytes)).toBe(true);
        const changed = Buffer.from(bytes);
        changed[at % bytes.length] ^= flip;
        expect(verifies(spec, bytes, changed)).toBe(false);
        expect(verifies(spec, bytes, Buffer.concat([bytes, Buffer.from([at % 256])]))).toBe(false);
        expect(verifies(spec, bytes, bytes.subarray(0, bytes.length - 1))).toBe(false);
      }),
      { numRuns: fuzzRuns(40) },
    );
  });

  it('github: a body signed with one secret never verifies under another', () => {
    fc.assert(
      fc.property(body, fc.string({ minLength: 1, maxLength: 40 }), (bytes, other) => {
        fc.pre(other.trim() !== '' && other !== 'gh-secret-property');
        const signer: VerifySpec = { provider: 'github', secrets: [other] };
        const signed = signRequest(signer, { rawBody: bytes, method: 'POST', url: URL, now: NOW });
        const { verify } = createPreset({ provider: 'github', secrets: ['gh-secret-property'] });
        const headers = Object.fromEntries(
          Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]),
        );
        expect(
          verify({ rawBody: bytes, headers, method: 'POST', url: URL, query: {}, now: NOW }).ok,
        ).toBe(false);
      }),
      { numRuns: fuzzRuns(100) },
    );
  });
});
