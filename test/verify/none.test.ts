import { none } from '../../src/verify/providers/none';
import { request } from './support';

describe('none()', () => {
  it.each([
    ['no headers and an empty body', {}, ''],
    ['a forged signature header', { 'X-Hub-Signature-256': 'sha256=00' }, '{"a":1}'],
  ])('none() with %s → accepts with secretIndex null', (_situation, headers, body) => {
    const result = none({ provider: 'none', secrets: [] })(request({ body, headers, at: 0 }));
    expect(result).toEqual({ ok: true, secretIndex: null });
  });
});
