import { AgentTier } from '@agenttier/sdk';
import { browserWebSocketClass } from './browser-websocket.ts';
import { boundFetch } from './session-binding.ts';

/**
 * The one SDK client of the page. Same origin as the router that served it; the credential is the
 * session cookie (or the development identity), which the browser attaches itself, unless the user
 * signed in with an API key that the server could not turn into a session (kept in memory only,
 * see auth/session.ts). Every request carries the session binding this origin keeps
 * (session-binding.ts), without which the router refuses the cookie.
 */
export function createClient(apiKey?: string): AgentTier {
  return new AgentTier({
    apiUrl: window.location.origin,
    env: {}, // never the environment or a config file: the browser has neither
    WebSocket: browserWebSocketClass(),
    fetch: boundFetch,
    ...(apiKey ? { apiKey } : {}),
  });
}
