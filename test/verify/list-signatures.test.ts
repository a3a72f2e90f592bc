import type { ParsedSignatures } from '../../src/verify/hmac-scheme';
import { listSignatures } from '../../src/verify/list-signatures';

describe('listSignatures()', () => {
  it.each<[string, [string, string, string?], string, ParsedSignatures]>([
    [
      'Stripe',
      [',', 'v1=', 't='],
      't=1,v1=a,v0=b,v1=c',
      { ok: true, signatures: ['a', 'c'], timestamp: '1' },
    ],
    [
      'Paddle',
      [';', 'h1=', 'ts='],
      'ts=1;h1=a;h2=b',
      { ok: true, signatures: ['a'], timestamp: '1' },
    ],
    ['Standard Webhooks', [' ', 'v1,'], 'v1,a v1a,b  v1,c', { ok: true, signatures: ['a', 'c'] }],
    ['no prefix', [',', ''], 'a, b', { ok: true, signatures: ['a', 'b'] }],
    ['a partial entry', [' ', 'v1,'], 'v1,', { ok: true, signatures: [''] }],
    ['no timestamp', [',', 'v1=', 't='], 'v1=a', { ok: false, reason: 'no timestamp in H header' }],
    [
      'two timestamps',
      [',', 'v1=', 't='],
      't=1,t=2,v1=a',
      { ok: false, reason: 'malformed H header (more than one timestamp)' },
    ],
    [
      'only other schemes',
      [',', 'v1=', 't='],
      't=1,v0=a',
      { ok: false, reason: 'no v1 signature in H header' },
    ],
    ['nothing with no prefix', [',', ''], ' , ', { ok: false, reason: 'no signature in H header' }],
  ])(
    'listSignatures() for %s → candidates',
    (_situation, [separator, prefix, stamp], value, want) => {
      expect(listSignatures(separator, prefix, stamp)(value, 'H')).toEqual(want);
    },
  );
});
