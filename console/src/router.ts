import { useEffect, useState } from 'preact/hooks';

/** The page is in the hash (#/deliveries?source=x): links and reloads keep it, no server routes. */
export interface Location {
  path: string[];
  params: URLSearchParams;
}

function read(): Location {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  return {
    path: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(query ?? ''),
  };
}

export function useLocation(): Location {
  const [location, setLocation] = useState(read);
  useEffect(() => {
    const changed = () => setLocation(read());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return location;
}

export function href(path: string, params?: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) if (value) query.set(name, value);
  const text = query.toString();
  return `#/${path}${text ? `?${text}` : ''}`;
}

export function go(path: string, params?: Record<string, string | undefined>): void {
  window.location.hash = href(path, params);
}
