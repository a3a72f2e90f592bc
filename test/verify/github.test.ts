import { github } from '../../src/verify/providers/github';
import { flipByte, hmacOf, labelled, reasonOf, received, request, type Want } from './support';

// Vectors: reference §2.1 (GitHub docs, octokit/webhooks-methods.js tests). GitHub has no timestamp.
const G1 = { secret: "It's a Secret to Everybody", body: 'Hello, World!' };
const G1_SIG = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
const G2_SIG = 'sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3';
// 86 bytes of UTF-8: the \n and \u001B are JSON escapes in the payload, ♥ is U+2665.
const G3_BODY = '{"foo":"Foo\\n\\u001B[34mbar: ♥♥♥♥♥♥♥♥\\nthis-is-lost\\u001B[0m\\u001B[2K"}';
const G3_SIG = 'sha256=afecc3caa27548bb90d51a50384cb2868b9a3327b4ad6a01c9bd4ed0f8b0b12c';
const G4_BODY = '{"foo":"\\\\u001b"}';
const G4_SIG = 'sha256=6f8326efbacfbd04e870cea25b5652e635be8c9807f2fd5348ef60753c9e96ed';
const AT = 1767225600;

interface Row {
  situation: string;
  /** `legacy: true` in the mapping: the SHA-1 header is accepted when the SHA-256 one is absent. */
  legacy?: boolean;
  secrets: string[];
  body: string | Buffer;
  headers: Record<string, string>;
  want: Want;
}

const sig = (value: string) => ({ 'X-Hub-Signature-256': value });
// G5 (DERIVED): the legacy SHA-1 header over G1.
const G5_SIG = 'sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59';
const legacySig = (value: string) => ({ 'X-Hub-Signature': value });
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows = labelled<Row>([
  {
    situation: 'G1 docs vector',
    secrets: [G1.secret],
    body: G1.body,
    headers: sig(G1_SIG),
    want: { ok: true, secretIndex: 0 },
  },
  {
    situation: 'G2 octokit vector',
    secrets: ['mysecret'],
    body: '{"foo":"bar"}',
    headers: sig(G2_SIG),
    want: { ok: true, secretIndex: 0 },
  },
  {
    situation: 'G3 non-ASCII UTF-8 body',
    secrets: ['development'],
    body: G3_BODY,
    headers: sig(G3_SIG),
    want: { ok: true, secretIndex: 0 },
  },
  {
    situation: 'G4 escaped backslash body',
    secrets: ['development'],
    body: G4_BODY,
    headers: sig(G4_SIG),
    want: { ok: true, secretIndex: 0 },
  },
  {
    situation: 'secrets [wrong, right] (rotation)',
    secrets: ['old-secret', G1.secret],
    body: G1.body,
    headers: sig(G1_SIG),
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'X-GitHub-Delivery header',
    secrets: [G1.secret],
    body: G1.body,
    headers: { ...sig(G1_SIG), 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' },
    want: { ok: true, secretIndex: 0, deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958' },
  },
  {
    situation: 'one body byte flipped',
    secrets: [G1.secret],
    body: flipByte(G1.body, 3),
    headers: sig(G1_SIG),
    want: mismatch,
  },
  {
    situation: 'a wrong secret',
    secrets: ['not the secret'],
    body: G1.body,
    headers: sig(G1_SIG),
    want: mismatch,
  },
  {
    situation: 'G3 body re-serialized by JSON.parse/stringify',
    secrets: ['development'],
    body: JSON.stringify(JSON.parse(G3_BODY)),
    headers: sig(G3_SIG),
    want: mismatch,
  },
  {
    situation: 'uppercase hex digest',
    secrets: [G1.secret],
    body: G1.body,
    headers: sig(G1_SIG.toUpperCase().replace('SHA256=', 'sha256=')),
    want: mismatch,
  },
  {
    situation: 'the digest of the wrong algorithm (sha1)',
    secrets: [G1.secret],
    body: G1.body,
    headers: sig('sha256=01dc10d0c83e72ed246219cdd91669667fe2ca59'),
    want: mismatch,
  },
  {
    situation: 'no X-Hub-Signature-256 header',
    secrets: [G1.secret],
    body: G1.body,
    headers: {},
    want: { ok: false, reason: /^missing X-Hub-Signature-256 header$/ },
  },
  {
    situation: 'only the legacy sha1 X-Hub-Signature header (G5)',
    secrets: [G1.secret],
    body: G1.body,
    headers: { 'X-Hub-Signature': 'sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59' },
    want: { ok: false, reason: /^missing X-Hub-Signature-256 header$/ },
  },
  {
    situation: 'the hex digest without sha256=',
    secrets: [G1.secret],
    body: G1.body,
    headers: sig(G1_SIG.slice(7)),
    want: { ok: false, reason: /^malformed X-Hub-Signature-256 header/ },
  },
  {
    situation: 'an uppercase SHA256= prefix',
    secrets: [G1.secret],
    body: G1.body,
    headers: sig(`SHA256=${G1_SIG.slice(7)}`),
    want: { ok: false, reason: /^malformed X-Hub-Signature-256 header/ },
  },
  {
    situation: 'an empty header',
    secrets: [G1.secret],
    body: G1.body,
    headers: sig(''),
    want: { ok: false, reason: /^malformed X-Hub-Signature-256 header/ },
  },
  {
    situation: 'a bare "sha256="',
    secrets: [G1.secret],
    body: G1.body,
    headers: sig('sha256='),
    want: { ok: false, reason: /^malformed X-Hub-Signature-256 header/ },
  },
  {
    situation: 'a truncated digest',
    secrets: [G1.secret],
    body: G1.body,
    headers: sig(G1_SIG.slice(0, -2)),
    want: mismatch,
  },
  {
    situation: 'G5 legacy SHA-1 header with legacy: true',
    legacy: true,
    secrets: [G1.secret],
    body: G1.body,
    headers: { ...legacySig(G5_SIG), 'X-GitHub-Delivery': 'd-1' },
    want: { ok: true, secretIndex: 0, deliveryId: 'd-1' },
  },
  {
    situation: 'legacy: true, both headers, SHA-256 valid and SHA-1 garbage',
    legacy: true,
    secrets: [G1.secret],
    body: G1.body,
    headers: { ...sig(G1_SIG), ...legacySig('sha1=00') },
    want: { ok: true, secretIndex: 0 },
  },
  {
    situation: 'legacy: true, SHA-256 wrong and SHA-1 right (no downgrade)',
    legacy: true,
    secrets: [G1.secret],
    body: G1.body,
    headers: { ...sig(`sha256=${'0'.repeat(64)}`), ...legacySig(G5_SIG) },
    want: mismatch,
  },
  {
    situation: 'legacy: true, G5 with one body byte flipped',
    legacy: true,
    secrets: [G1.secret],
    body: flipByte(G1.body, 0),
    headers: legacySig(G5_SIG),
    want: mismatch,
  },
  {
    situation: 'legacy: true, a SHA-256 digest under sha1=',
    legacy: true,
    secrets: [G1.secret],
    body: G1.body,
    headers: legacySig(`sha1=${G1_SIG.slice(7)}`),
    want: mismatch,
  },
  {
    situation: 'legacy: true, the SHA-1 digest without its prefix',
    legacy: true,
    secrets: [G1.secret],
    body: G1.body,
    headers: legacySig(G5_SIG.slice(5)),
    want: { ok: false, reason: /^malformed X-Hub-Signature header \(expected sha1=<signature>\)$/ },
  },
  {
    situation: 'legacy: true and no header at all',
    legacy: true,
    secrets: [G1.secret],
    body: G1.body,
    headers: {},
    want: { ok: false, reason: /^missing X-Hub-Signature-256 or X-Hub-Signature header$/ },
  },
]);

describe('github()', () => {
  it.each(rows)(
    'github() with $situation → $result',
    ({ legacy, secrets, body, headers, want }) => {
      const result = github({ provider: 'github', secrets, legacy })(
        request({ body, headers, at: AT }),
      );
      if (want.ok) {
        expect(result).toEqual(want);
        return;
      }
      const expected = secrets.flatMap((s) => [
        `sha256=${hmacOf(s, body)}`,
        `sha1=${hmacOf(s, body, 'hex', 'sha1')}`,
      ]);
      const forbidden = [
        ...secrets,
        ...expected,
        ...expected.map((e) => e.replace(/^sha\d+=/, '')),
        ...received(headers),
      ];
      expect(reasonOf(result, forbidden)).toMatch(want.reason);
    },
  );
});
