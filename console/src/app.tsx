import { useEffect, useState } from 'preact/hooks';
import { api, whenSignedOut } from './api';
import { DeliveriesPage } from './deliveries-page';
import { DeliveryPage } from './delivery-page';
import { PlaygroundPage } from './playground-page';
import { href, useLocation } from './router';
import { SignIn } from './sign-in';
import { SourcesPage } from './sources-page';

type Session = 'checking' | 'in' | 'out';

export function App() {
  const [session, setSession] = useState<Session>('checking');
  const location = useLocation();

  useEffect(() => {
    whenSignedOut(() => setSession('out'));
    api<{ signedIn: boolean }>('GET', '/session').then(
      (answer) => setSession(answer.signedIn ? 'in' : 'out'),
      () => setSession('out'),
    );
  }, []);

  useEffect(() => {
    const page = location.path[0] ?? 'deliveries';
    const titles: Record<string, string> = {
      sources: 'Sources',
      deliveries: location.path[1] ? 'Delivery' : 'Deliveries',
      playground: 'Playground',
    };
    document.title = `${session === 'out' ? 'Sign in' : (titles[page] ?? 'Console')} · flowhook`;
  }, [location, session]);

  if (session === 'checking') return <p class="loading">Loading…</p>;
  if (session === 'out') return <SignIn onSignedIn={() => setSession('in')} />;

  const page = location.path[0] ?? 'deliveries';
  const signOut = async () => {
    await api('DELETE', '/session').catch(() => undefined);
    setSession('out');
  };
  const link = (name: string, label: string) => (
    <a href={href(name)} aria-current={page === name ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header class="top">
        <span class="brand">flowhook console</span>
        <nav aria-label="Main">
          {link('sources', 'Sources')}
          {link('deliveries', 'Deliveries')}
          {link('playground', 'Playground')}
        </nav>
        <button type="button" class="quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {page === 'sources' && <SourcesPage />}
        {page === 'deliveries' && location.path[1] === undefined && (
          <DeliveriesPage params={location.params} />
        )}
        {page === 'deliveries' && location.path[1] !== undefined && (
          <DeliveryPage id={location.path[1]} />
        )}
        {page === 'playground' && <PlaygroundPage params={location.params} />}
      </main>
    </>
  );
}
