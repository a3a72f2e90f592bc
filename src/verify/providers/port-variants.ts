const URL_PARTS = /^(https?):\/\/([^/?#]*)(.*)$/i;
const HOST_PORT = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/;

/**
 * The URL as received, with the default port written out, and without any port: Twilio's SDKs
 * accept a match on any of them, "since signature generation on the back end is inconsistent"
 * (twilio-node validateRequest; reference vector T10 only matches with ":443"). String surgery,
 * not `new URL()`, so the path and query stay byte for byte as signed.
 * https://github.com/twilio/twilio-node/blob/044e3f8302d7ba16a659d34800139853e30f0803/src/webhooks/webhooks.ts
 */
export function portVariants(url: string): string[] {
  const parts = URL_PARTS.exec(url);
  if (parts === null) return [url];
  const [, scheme = '', authority = '', rest = ''] = parts;
  const at = authority.lastIndexOf('@');
  const userinfo = authority.slice(0, at + 1);
  const hostPort = HOST_PORT.exec(authority.slice(at + 1));
  if (hostPort === null) return [url];
  const [, host = '', port] = hostPort;
  const base = `${scheme}://${userinfo}${host}`;
  const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
  const withPort = `${base}:${port || defaultPort}${rest}`;
  const withoutPort = `${base}${rest}`;
  return [...new Set([url, withPort, withoutPort])];
}
