import type { AgentTier, UserInfo } from '@agenttier/sdk';
import { AuthenticationError } from '@agenttier/sdk';
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { createClient } from '../api/client.ts';

/**
 * Who is signed in. The router decides: `GET /api/v1/user/me` with whatever credential the browser
 * holds (a session cookie, or none under development authentication). A key typed on the login
 * screen is kept in this page's memory only (never in storage a script could read later), so a
 * reload asks for it again.
 */
export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out'; reason?: string }
  | { status: 'signed-in'; user: UserInfo; via: 'ambient' | 'api-key' };

interface SessionApi {
  state: SessionState;
  client: AgentTier;
  signInWithKey(key: string): Promise<void>;
  signOut(): void;
}

const SessionContext = createContext<SessionApi | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }): ReactNode {
  const [apiKey, setApiKey] = useState<string | undefined>(undefined);
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const client = useMemo(() => createClient(apiKey), [apiKey]);

  useEffect(() => {
    if (apiKey) return; // signInWithKey set the state
    let cancelled = false;
    createClient()
      .currentUser()
      .then((user) => !cancelled && setState({ status: 'signed-in', user, via: 'ambient' }))
      .catch((err: unknown) => {
        if (cancelled) return;
        setState({
          status: 'signed-out',
          ...(err instanceof AuthenticationError
            ? {}
            : { reason: `The server did not answer: ${(err as Error).message}` }),
        });
      });
    return () => {
      cancelled = true;
    };
  }, [apiKey]);

  const signInWithKey = useCallback(async (key: string): Promise<void> => {
    const user = await createClient(key).currentUser(); // throws AuthenticationError for a bad key
    setApiKey(key);
    setState({ status: 'signed-in', user, via: 'api-key' });
  }, []);

  const signOut = useCallback((): void => {
    setApiKey(undefined);
    setState({ status: 'signed-out', reason: 'Signed out.' });
  }, []);

  const api = useMemo(
    () => ({ state, client, signInWithKey, signOut }),
    [state, client, signInWithKey, signOut],
  );
  return <SessionContext.Provider value={api}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The SDK client of the signed-in user. */
export function useClient(): AgentTier {
  return useSession().client;
}
