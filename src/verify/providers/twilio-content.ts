import type { SignedContent } from '../signed-content';

/** True when Twilio put the body's hash in the URL (JSON and other non-form bodies). */
export function hasBodyHash(url: string): boolean {
  const at = url.indexOf('?');
  return at >= 0 && new URLSearchParams(url.slice(at + 1)).has('bodySHA256');
}

/**
 * "name" + "value" for each form parameter, sorted by name (code-unit order); a repeated name
 * contributes each distinct value, sorted, as twilio-node's toFormUrlEncodedParam does.
 */
function sortedParams(body: Buffer): Buffer[] {
  const params = new Map<string, Set<string>>();
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    params.set(name, (params.get(name) ?? new Set()).add(value));
  }
  return [...params.keys()]
    .sort()
    .flatMap((name) =>
      [...(params.get(name) ?? [])].sort().map((v) => Buffer.from(name + v, 'utf8')),
    );
}

/**
 * What Twilio signs: the full URL (query included), then the sorted form parameters of a
 * `application/x-www-form-urlencoded` POST. When the URL carries `bodySHA256`, only the URL is
 * signed and the body is covered by that hash instead (checked by twilio.ts).
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security
 */
export const twilioContent: SignedContent = {
  uses: new Set(['url', 'body']),
  headers: [],
  parts: ({ url = '', body }) => [
    Buffer.from(url, 'utf8'),
    ...(hasBodyHash(url) ? [] : sortedParams(body)),
  ],
};
