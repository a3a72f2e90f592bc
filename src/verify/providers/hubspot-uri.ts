// The characters HubSpot's v3 docs list as decoded before signing.
const DECODED: Readonly<Record<string, string>> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};
const ENCODED = /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

/**
 * The request URI as received, and with the characters HubSpot's v3 instructions decode
 * (`%3A` → `:` and so on). The node SDK signs the URL as given, the docs say to decode these;
 * trying both accepts either without decoding anything else.
 * https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
 */
export function hubspotUris(url: string): string[] {
  const decoded = url.replace(ENCODED, (match) => DECODED[match.toUpperCase()] ?? match);
  return decoded === url ? [url] : [url, decoded];
}
