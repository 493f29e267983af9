import { useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { describeError } from '../app/errors.ts';
import { useSession } from './session.tsx';

/** Sign in with an API key (`agenttier apikey create`, or the key `agenttier up` saved). */
export function LoginPage({ reason }: { reason?: string | undefined }): ReactNode {
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
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login" aria-labelledby="login-title">
      <h1 id="login-title">Sign in to AgentTier</h1>
      {reason ? <p role="status">{reason}</p> : null}
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
          required
        />
        <p id="api-key-help" className="muted">
          Create one with <code>agenttier apikey create</code>; <code>agenttier up</code> saved an admin key
          in <code>~/.config/agenttier/config.json</code>. The key stays in this tab's memory only.
        </p>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
