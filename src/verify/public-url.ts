import { VerifySpecError } from './types';

/** The query string of a URL as received, "?" included, or "". */
export function queryOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at);
}

/**
 * The URL a URL-signing sender (Twilio, Square, HubSpot) used, rebuilt per request. Behind a
 * proxy that changes scheme, host or path, the URL flowhook sees is not the one signed; then
 * `publicUrl` is the address configured at the provider, and the received query string (which the
 * provider signed too) is appended. Without it, the received URL is used as is: with TRUST_PROXY
 * set, Express rebuilds scheme and host from X-Forwarded-Proto/-Host.
 */
export function resolvePublicUrl(publicUrl: string | undefined): (received: string) => string {
  if (publicUrl === undefined) return (received) => received;
  let parsed: URL;
  try {
    parsed = new URL(publicUrl);
  } catch {
    throw new VerifySpecError(`publicUrl is not an absolute URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new VerifySpecError('publicUrl must start with https:// or http://');
  }
  if (publicUrl.includes('?') || publicUrl.includes('#')) {
    throw new VerifySpecError(
      'publicUrl must not have a query string or fragment (the received query string is appended)',
    );
  }
  return (received) => publicUrl + queryOf(received);
}
