import type { AuthMethods } from '@agenttier/sdk';
import { useState } from 'react';
import type { FormEvent, MouseEvent, ReactNode } from 'react';
import { startBinding } from '../api/session-binding.ts';
import { describeError } from '../app/errors.ts';
import { useSession } from './session.tsx';

/** Sign in: an API key swapped for a session cookie, or the OIDC provider when the server has one. */
export function LoginPage({
  methods,
  reason,
}: {
  methods: AuthMethods;
  reason?: string | undefined;
}): ReactNode {
  const { signInWithKey } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signInWithKey(key.trim());
      setKey('');
    } catch (err) {
      setError(`${describeError(err)}. Check the key (it starts with atk_), or create a new one.`);
    } finally {
      setBusy(false);
    }
  };

  const returnTo = window.location.pathname + window.location.search;
  // The session the provider's login ends in is bound to a value this page chooses now and keeps
  // (api/session-binding.ts): the router stores it with the pending login.
  const startOidc = (e: MouseEvent<HTMLAnchorElement>): void => {
    if (!methods.oidcLoginUrl) return;
    e.preventDefault();
    const binding = startBinding();
    window.location.assign(
      `${methods.oidcLoginUrl}?returnTo=${encodeURIComponent(returnTo)}&binding=${encodeURIComponent(binding)}`,
    );
  };
  const oidcHref = methods.oidcLoginUrl
    ? `${methods.oidcLoginUrl}?returnTo=${encodeURIComponent(returnTo)}`
    : undefined;

  return (
    <main className="login" aria-labelledby="login-title">
      <h1 id="login-title">Sign in to AgentTier</h1>
      {reason ? <p role="status">{reason}</p> : null}
      {methods.oidc && oidcHref ? (
        <p>
          <a className="button primary" href={oidcHref} onClick={startOidc}>
            Sign in with your organisation (OIDC)
          </a>
        </p>
      ) : null}
      {methods.apiKey ? (
        <form onSubmit={(e) => void submit(e)} className="card stack">
          <label htmlFor="api-key">API key</label>
          <input
            id="api-key"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="atk_…"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            aria-describedby="api-key-help"
            aria-invalid={error ? true : undefined}
            required
          />
          <p id="api-key-help" className="muted small">
            Create one with <code>agenttier apikey create</code>; <code>agenttier up</code> saved an admin key
            in <code>~/.config/agenttier/config.json</code>. The page swaps it for a session cookie and does
            not keep it.
          </p>
          {error ? (
            <p role="alert" className="error">
              {error}
            </p>
          ) : null}
          <button
            type="submit"
            className={methods.oidc ? '' : 'primary'}
            disabled={busy || key.trim() === ''}
          >
            {busy ? 'Signing in…' : 'Sign in with API key'}
          </button>
        </form>
      ) : null}
      {!methods.apiKey && !methods.oidc ? (
        <p role="alert" className="error">
          This server offers no browser sign-in. Ask its administrator to enable sessions or OIDC, or use the
          CLI.
        </p>
      ) : null}
    </main>
  );
}
