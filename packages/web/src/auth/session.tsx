import type { AgentTier, AuthMethods, UserInfo } from '@agenttier/sdk';
import { AuthenticationError, NotFoundError } from '@agenttier/sdk';
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { createClient } from '../api/client.ts';
import { clearBinding, startBinding } from '../api/session-binding.ts';

/**
 * Who is signed in. The router decides: `GET /api/v1/user/me` with what the browser holds — the
 * HttpOnly session cookie, or nothing under development authentication. Signing in swaps an API
 * key for that cookie (`POST /api/v1/auth/session`); the key is never kept by the page. The cookie
 * counts only next to the session binding this page chose at sign-in (api/session-binding.ts), so a
 * session cookie planted by a page on another port of this host leaves the page signed out. Only when a
 * server offers no sessions is the key held in this page's memory (never in web storage), so a
 * reload asks again.
 */
export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out'; methods: AuthMethods; reason?: string }
  | { status: 'signed-in'; user: UserInfo; via: 'ambient' | 'session' | 'memory-key' };

interface SessionApi {
  state: SessionState;
  client: AgentTier;
  signInWithKey(key: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionApi | undefined>(undefined);

/** Sessions unknown (an older server): offer the key form, which then keeps the key in memory. */
const FALLBACK_METHODS: AuthMethods = { apiKey: true, oidc: false };

async function loginMethods(client: AgentTier): Promise<AuthMethods> {
  try {
    return await client.authMethods();
  } catch (err) {
    if (err instanceof NotFoundError) return { ...FALLBACK_METHODS, apiKey: false };
    return FALLBACK_METHODS;
  }
}

export function SessionProvider({ children }: { children: ReactNode }): ReactNode {
  const [memoryKey, setMemoryKey] = useState<string | undefined>(undefined);
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const client = useMemo(() => createClient(memoryKey), [memoryKey]);

  const checkAmbient = useCallback(async (reason?: string): Promise<void> => {
    const ambient = createClient();
    try {
      const user = await ambient.currentUser();
      setState({ status: 'signed-in', user, via: user.id === 'dev-user' ? 'ambient' : 'session' });
    } catch (err) {
      const methods = await loginMethods(ambient);
      const why =
        reason ??
        (err instanceof AuthenticationError
          ? undefined
          : `The server did not answer: ${(err as Error).message}`);
      setState({ status: 'signed-out', methods, ...(why ? { reason: why } : {}) });
    }
  }, []);

  useEffect(() => {
    void checkAmbient();
  }, [checkAmbient]);

  // A session that ends while the page is open (expired, logged out in another tab, key revoked):
  // the next API call answers 401, and the page goes back to the sign-in screen.
  const queryClient = useQueryClient();
  const signedIn = state.status === 'signed-in';
  useEffect(() => {
    if (!signedIn) return undefined;
    return queryClient.getQueryCache().subscribe((event) => {
      if (event.type === 'updated' && event.query.state.error instanceof AuthenticationError)
        void checkAmbient('Your session ended: sign in again.');
    });
  }, [queryClient, signedIn, checkAmbient]);
  // Nothing one user saw is shown to the next.
  const who = state.status === 'signed-in' ? state.user.id : undefined;
  useEffect(() => {
    queryClient.clear();
  }, [queryClient, who]);

  const signInWithKey = useCallback(
    async (key: string): Promise<void> => {
      const methods = state.status === 'signed-out' ? state.methods : FALLBACK_METHODS;
      const ambient = createClient();
      try {
        startBinding(); // a new binding for the new session; the login request carries it
        const { user } = await ambient.startSession(key); // throws AuthenticationError for a bad key
        setMemoryKey(undefined);
        // The login answer names the user without `sub`, which is the id by definition (UserInfo).
        setState({ status: 'signed-in', user: { ...user, sub: user.id }, via: 'session' });
      } catch (err) {
        // A server without browser sessions (404/501): check the key and keep it in memory instead.
        const noSessions =
          !methods.apiKey ||
          (err instanceof Error && 'status' in err && [404, 501].includes(Number(err.status)));
        if (!noSessions) throw err;
        const user = await createClient(key).currentUser();
        setMemoryKey(key);
        setState({ status: 'signed-in', user, via: 'memory-key' });
      }
    },
    [state],
  );

  const signOut = useCallback(async (): Promise<void> => {
    if (state.status === 'signed-in' && state.via === 'session') {
      await createClient()
        .endSession()
        .catch(() => undefined); // the cookie may already be gone; the next check tells
    }
    clearBinding();
    setMemoryKey(undefined);
    await checkAmbient('Signed out.');
  }, [state, checkAmbient]);

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
