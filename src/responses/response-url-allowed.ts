/**
 * Whether a late answer may be POSTed to `url` (a request's response_url): only to an origin on
 * RESPONSE_URL_ALLOW. The URL came in a signed request, but a leaked signing secret or a flow
 * that echoes input must not turn flowhook into a way to reach internal addresses.
 */
export function responseUrlAllowed(
  url: unknown,
  allow: readonly string[],
): { ok: true; url: URL } | { ok: false; reason: string } {
  if (typeof url !== 'string' || url === '') {
    return { ok: false, reason: 'the request has no response_url' };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'the response_url is not a URL' };
  }
  if (parsed.username || parsed.password) {
    return { ok: false, reason: 'the response_url carries credentials' };
  }
  if (!allow.includes(parsed.origin)) {
    return {
      ok: false,
      reason: `${parsed.origin} is not on RESPONSE_URL_ALLOW (${allow.join(', ') || 'empty'})`,
    };
  }
  return { ok: true, url: parsed };
}
