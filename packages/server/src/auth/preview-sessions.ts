import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { PlatformError } from '@agenttier/contract';
import type { Identity } from '../context.ts';
import type { PreviewTarget } from '../http/preview-host.ts';

/**
 * Browser access to previews when API keys are on. A browser cannot attach an API key to a page load,
 * so an authenticated API call mints a **preview link**: a short-lived, single-use token for one sandbox
 * port. The preview origin exchanges it (at {@link PREVIEW_SESSION_PATH}) for an HttpOnly cookie that is
 * host-only on that preview origin and worth nothing for any other sandbox, port or the API, then
 * redirects to strip the token from the address bar. See docs/security.md, "Preview sessions".
 */

/** The one path a preview host answers itself instead of passing to the app in the sandbox. */
export const PREVIEW_SESSION_PATH = '/__agenttier/preview-session';

/** Cookie name over plain HTTP (`*.localhost`); the router never passes it into the sandbox. */
export const PREVIEW_COOKIE = 'agenttier-preview';
/** Over TLS: the `__Host-` prefix makes browsers refuse it unless Secure, Path=/ and without Domain. */
export const PREVIEW_COOKIE_TLS = `__Host-${PREVIEW_COOKIE}`;

export interface PreviewSessionOpts {
  /** How long a minted link can be exchanged. @default 60_000 */
  linkTtlMs?: number;
  /** How long a browser session on a preview lasts (cookie Max-Age and server-side expiry). @default 8 h */
  sessionTtlMs?: number;
  /** Links and sessions each kept at most (oldest dropped first), so minting cannot grow memory. @default 10_000 */
  maxEntries?: number;
  /**
   * Where links and sessions live: by default the router's memory (a restart ends them); the local
   * platform and the Kubernetes router pass a SQLite store so they survive restarts
   * ({@link SqlitePreviewGrantStore}).
   */
  store?: PreviewGrantStore;
  nowMs?: () => number;
}

export interface PreviewLink {
  token: string;
  expiresAt: string;
}

/** What a link or a session grants. */
export interface PreviewGrant {
  who: Identity;
  target: PreviewTarget;
  /** Where the browser lands after the exchange (path and query on the preview origin). */
  path: string;
  expiresAtMs: number;
}

export type PreviewGrantKind = 'link' | 'session';

/**
 * Links and sessions, keyed by the SHA-256 (hex) of their secret: a stolen store or heap dump holds no
 * usable token. Expired entries are never returned.
 */
export interface PreviewGrantStore {
  /** Adds a grant; at most `max` of a kind are kept (oldest dropped first) and expired ones are dropped. */
  put(kind: PreviewGrantKind, hash: string, grant: PreviewGrant, max: number, nowMs: number): void;
  /** The live grant, removed in the same step (single use: two presentations cannot both get it). */
  take(kind: PreviewGrantKind, hash: string, nowMs: number): PreviewGrant | undefined;
  /** The live grant, kept. */
  get(kind: PreviewGrantKind, hash: string, nowMs: number): PreviewGrant | undefined;
  /** Removes every grant minted with API key `keyId`. */
  deleteByKey(keyId: string): void;
}

/** The default store: two bounded maps in the router's memory. */
export function memoryPreviewGrantStore(): PreviewGrantStore {
  const maps: Record<PreviewGrantKind, Map<string, PreviewGrant>> = { link: new Map(), session: new Map() };
  const live = (kind: PreviewGrantKind, hash: string, nowMs: number): PreviewGrant | undefined => {
    const grant = maps[kind].get(hash);
    if (grant && grant.expiresAtMs <= nowMs) {
      maps[kind].delete(hash);
      return undefined;
    }
    return grant;
  };
  return {
    put(kind, hash, grant, max) {
      putBounded(maps[kind], hash, grant, max);
    },
    take(kind, hash, nowMs) {
      const grant = live(kind, hash, nowMs);
      maps[kind].delete(hash);
      return grant;
    },
    get: live,
    deleteByKey(keyId) {
      for (const map of Object.values(maps))
        for (const [k, g] of map) if (g.who.keyId === keyId) map.delete(k);
    },
  };
}

export interface PreviewSessions {
  /** A single-use link token for `target`, acting as `who`; `path` is where the browser lands. */
  mint(who: Identity, target: PreviewTarget, path: string): PreviewLink;
  /**
   * Spends a link token on the preview host of `target`: the Set-Cookie value and where to redirect.
   * Throws 401 for an unknown, used, expired or other-target token.
   */
  exchange(token: string, target: PreviewTarget, secure: boolean): { setCookie: string; location: string };
  /** The identity a preview request's session cookie carries for `target`, or undefined. */
  identityFor(headers: IncomingHttpHeaders, target: PreviewTarget): Identity | undefined;
  /** Ends every link and session minted with API key `keyId` (after it is revoked). */
  forgetKey(keyId: string): void;
}

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

const sameTarget = (a: PreviewTarget, b: PreviewTarget): boolean =>
  a.port === b.port && a.name === b.name && a.namespace === b.namespace;

/** A Map used as a bounded, insertion-ordered cache. */
function putBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as string);
}

/** Every value of cookie `name` in a Cookie header (a page may have set look-alikes; all are tried). */
function cookieValues(header: string | string[] | undefined, name: string): string[] {
  if (header === undefined) return [];
  const out: string[] = [];
  for (const part of (Array.isArray(header) ? header.join('; ') : header).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** Whether a cookie name is one of the router's (never passed into, nor accepted from, a sandbox). */
export function isRouterCookieName(name: string): boolean {
  const n = name.trim().toLowerCase();
  return n.startsWith('agenttier') || n.startsWith('__host-agenttier') || n.startsWith('__secure-agenttier');
}

export function createPreviewSessions(opts: PreviewSessionOpts = {}): PreviewSessions {
  const linkTtlMs = opts.linkTtlMs ?? 60_000;
  const sessionTtlMs = opts.sessionTtlMs ?? 8 * 60 * 60_000;
  const max = opts.maxEntries ?? 10_000;
  const now = opts.nowMs ?? Date.now;
  // Keyed by the SHA-256 of the secret: a lookup never compares secrets byte by byte, and a heap dump
  // or a copy of the database holds no usable token.
  const store = opts.store ?? memoryPreviewGrantStore();

  const unauthenticated = (): PlatformError =>
    new PlatformError(
      'UNAUTHENTICATED',
      'this preview link is invalid, expired or already used; ask for a new one (`agenttier sandbox ports preview NAME PORT`, or POST /api/v1/sandboxes/{name}/ports/{port}/preview-link)',
    );

  const keyOf = (token: string): string | undefined => (TOKEN_RE.test(token) ? digest(token) : undefined);

  return {
    mint(who, target, path) {
      const token = randomBytes(32).toString('base64url');
      const expiresAtMs = now() + linkTtlMs;
      store.put('link', digest(token), { who, target: { ...target }, path, expiresAtMs }, max, now());
      return { token, expiresAt: new Date(expiresAtMs).toISOString() };
    },

    exchange(token, target, secure) {
      // Single use: spent by any presentation, also one on the wrong host (taking it is removing it).
      const key = keyOf(token);
      const grant = key === undefined ? undefined : store.take('link', key, now());
      if (!grant || !sameTarget(grant.target, target)) throw unauthenticated();
      const session = randomBytes(32).toString('base64url');
      store.put('session', digest(session), { ...grant, expiresAtMs: now() + sessionTtlMs }, max, now());
      const attrs = [
        `${secure ? PREVIEW_COOKIE_TLS : PREVIEW_COOKIE}=${session}`,
        'Path=/',
        `Max-Age=${Math.floor(sessionTtlMs / 1000)}`,
        'HttpOnly',
        'SameSite=Lax',
        ...(secure ? ['Secure'] : []),
      ];
      return { setCookie: attrs.join('; '), location: grant.path };
    },

    identityFor(headers, target) {
      for (const name of [PREVIEW_COOKIE_TLS, PREVIEW_COOKIE]) {
        for (const value of cookieValues(headers.cookie, name)) {
          const key = keyOf(value);
          const grant = key === undefined ? undefined : store.get('session', key, now());
          if (grant && sameTarget(grant.target, target)) return grant.who;
        }
      }
      return undefined;
    },

    forgetKey(keyId) {
      store.deleteByKey(keyId);
    },
  };
}
