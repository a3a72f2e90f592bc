import { useState } from 'preact/hooks';
import { api, ApiError } from './api';

/** ADMIN_TOKEN is exchanged for an HttpOnly session cookie; the page never keeps the token. */
export function SignIn(props: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      await api('POST', '/session', { token });
      setToken('');
      props.onSignedIn();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        setMessage('That token is invalid. Use the ADMIN_TOKEN this flowhook was started with.');
      } else if (error instanceof ApiError && error.status === 429) {
        setMessage('Too many failed sign-ins from this address. Try again later.');
      } else {
        setMessage(error instanceof Error ? error.message : 'Sign-in failed.');
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>flowhook console</h1>
      <form onSubmit={submit}>
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby={message ? 'sign-in-message' : undefined}
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {message && (
          <p id="sign-in-message" role="alert" class="error">
            {message}
          </p>
        )}
      </form>
    </main>
  );
}
