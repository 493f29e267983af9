import { PlatformError, SESSION_BINDING_HEADER } from '@agenttier/contract';
import type { ApiKeyStore } from '@agenttier/core';
import type { Identity } from '../context.ts';
import { bindingMatches, presentedSessionBinding } from './session-binding.ts';
import { cookieValues, sessionCookieName } from './session-cookie.ts';
import type { SqliteSessionStore } from './session-store.ts';

export interface SessionAuthOpts {
  sessions: SqliteSessionStore;
  /** To check that the key a session was made with still exists (revocation by another replica). */
  keys?: ApiKeyStore;
  /** Cookies are `__Host-…; Secure` (the router is reached over HTTPS). */
  secure: boolean;
  nowMs?: () => number;
}

const LOGIN_AGAIN = 'log in again (POST /api/v1/auth/session with an API key, or the web UI)';

function refuse(why: string): PlatformError {
  return new PlatformError('UNAUTHENTICATED', `${why}; ${LOGIN_AGAIN}`);
}

/**
 * The 401 for a request that carries the session cookie more than once. `cookieName` lets the guard
 * chain expire the planted copies on that request's path (session-cookie.ts, expirePlantedCookies).
 */
export class SessionCookieConflict extends PlatformError {
  readonly cookieName: string;
  constructor(cookieName: string) {
    super(
      'UNAUTHENTICATED',
      `the request carries more than one session cookie (another page on this host planted one; it has been expired); ${LOGIN_AGAIN}`,
    );
    this.cookieName = cookieName;
  }
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Whether a request came from a page of the router's own origin (or a typed URL): a session cookie
 * authorises nothing else. SameSite=Strict already keeps the cookie off cross-site requests; this
 * also refuses same-site ones (a preview or another port of the same host is same-site) and any
 * browser that ignored SameSite. Non-browser clients send neither header.
 */
export function sameOriginRequest(headers: Record<string, string | string[] | undefined>): boolean {
  const site = single(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = single(headers.origin);
  if (origin === undefined) return true;
  const host = single(headers.host)?.trim().toLowerCase();
  const o = origin.trim().toLowerCase();
  return host !== undefined && (o === `http://${host}` || o === `https://${host}`);
}

/**
 * Who a request's session cookie is: undefined when it carries none; a 401 when the cookie is
 * unknown, expired, revoked, repeated, sent from another origin, or without its binding.
 */
export function createSessionAuthenticator(
  opts: SessionAuthOpts,
): (headers: Record<string, string | string[] | undefined>) => Promise<Identity | undefined> {
  const name = sessionCookieName(opts.secure);
  const now = opts.nowMs ?? Date.now;
  return async (headers) => {
    const values = cookieValues(headers.cookie, name);
    if (values.length === 0) return undefined;
    // Two cookies of one name: one was planted (a sibling host or a path-scoped copy); trust neither.
    if (values.length > 1) throw new SessionCookieConflict(name);
    if (!sameOriginRequest(headers))
      throw refuse("a session cookie is accepted only from the router's own pages (same origin)");
    const session = opts.sessions.find(values[0]!);
    if (!session) throw refuse('the session is unknown, expired or logged out');
    // Cookies ignore ports: a page on another port of this host can plant a valid session of its own
    // account. Only the UI's origin holds the binding that goes with the cookie its login set.
    if (!bindingMatches(presentedSessionBinding(headers), session.bindingHash))
      throw refuse(
        `the session cookie came without its binding (the ${SESSION_BINDING_HEADER} header the web UI keeps for it), or with another session's; it may have been planted by another page on this host`,
      );
    if (session.keyId !== undefined && opts.keys) {
      const key = await opts.keys.get(session.keyId);
      if (!key || (key.expiresAt !== undefined && Date.parse(key.expiresAt) <= now())) {
        opts.sessions.revokeByKey(session.keyId);
        throw refuse(`the API key this session was made with (${session.keyId}) is revoked or expired`);
      }
    }
    return session.identity;
  };
}
