/**
 * DATABASE_URL as it may be logged or shown: user, host, port and database, never the password
 * (nor the query string, which may carry `password=` or key material). Unparseable → a fixed
 * placeholder, so a typo never echoes the secret back.
 */
export function redactDatabaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'postgres://[unparseable DATABASE_URL]';
  }
  const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
  const port = url.port ? `:${url.port}` : '';
  return `${url.protocol}//${user}${url.hostname}${port}${url.pathname}`;
}
