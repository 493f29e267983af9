import { SESSION_BINDING_HEADER, SESSION_BINDING_RE } from '@agenttier/contract';

/**
 * The session binding (docs/auth.md, "Session binding"): a random value this page chooses at sign-in
 * and keeps in its origin's localStorage, which the router wants next to the session cookie on every
 * request. Cookies ignore ports, so a page on another port of the router's host can plant a session
 * cookie of its own account; web storage is per scheme, host and port, so that page can neither read
 * this value nor plant one. localStorage (not sessionStorage): every tab of the UI shares the cookie,
 * so every tab needs the binding too.
 */
const STORAGE_KEY = 'agenttier.sessionBinding';

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // storage disabled: sessions then never authenticate, and the page asks to sign in
  }
}

/** The binding this origin holds, if any. */
export function currentBinding(): string | undefined {
  const v = storage()?.getItem(STORAGE_KEY) ?? undefined;
  return v !== undefined && SESSION_BINDING_RE.test(v) ? v : undefined;
}

/** Chooses and keeps a new binding (32 random bytes, base64url): once per sign-in. */
export function startBinding(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const value = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  storage()?.setItem(STORAGE_KEY, value);
  return value;
}

/** Forgets the binding (sign-out). */
export function clearBinding(): void {
  storage()?.removeItem(STORAGE_KEY);
}

/** The header that carries the binding, when this origin holds one. */
export function bindingHeaders(): Record<string, string> {
  const b = currentBinding();
  return b ? { [SESSION_BINDING_HEADER]: b } : {};
}

/** `fetch` that adds the binding as it is when each request is made (a sign-in changes it). */
export const boundFetch: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  for (const [k, v] of Object.entries(bindingHeaders())) headers.set(k, v);
  return fetch(input, { ...init, headers });
};
