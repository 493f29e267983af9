import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
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
  nowMs?: () => number;
}

export interface PreviewLink {
  token: string;
  expiresAt: string;
}

interface Grant {
  who: Identity;
  target: PreviewTarget;
  /** Where the browser lands after the exchange (path and query on the preview origin). */
  path: string;
  expiresAtMs: number;
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
  // holds no usable token.
  const links = new Map<string, Grant>();
  const sessions = new Map<string, Grant>();

  const unauthenticated = (): PlatformError =>
    new PlatformError(
      'UNAUTHENTICATED',
      'this preview link is invalid, expired or already used; ask for a new one (`agenttier sandbox ports preview NAME PORT`, or POST /api/v1/sandboxes/{name}/ports/{port}/preview-link)',
    );

  const lookup = (map: Map<string, Grant>, token: string): Grant | undefined => {
    if (!TOKEN_RE.test(token)) return undefined;
    const key = digest(token);
    const grant = map.get(key);
    if (!grant) return undefined;
    // The map key is the digest; compare it again in constant time as a matter of habit.
    if (!timingSafeEqual(Buffer.from(key), Buffer.from(digest(token)))) return undefined;
    if (grant.expiresAtMs <= now()) {
      map.delete(key);
      return undefined;
    }
    return grant;
  };

  return {
    mint(who, target, path) {
      const token = randomBytes(32).toString('base64url');
      const expiresAtMs = now() + linkTtlMs;
      putBounded(links, digest(token), { who, target: { ...target }, path, expiresAtMs }, max);
      return { token, expiresAt: new Date(expiresAtMs).toISOString() };
    },

    exchange(token, target, secure) {
      const grant = lookup(links, token);
      // Single use: spent by any presentation, also one on the wrong host.
      if (grant) links.delete(digest(token));
      if (!grant || !sameTarget(grant.target, target)) throw unauthenticated();
      const session = randomBytes(32).toString('base64url');
      putBounded(sessions, digest(session), { ...grant, expiresAtMs: now() + sessionTtlMs }, max);
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
          const grant = lookup(sessions, value);
          if (grant && sameTarget(grant.target, target)) return grant.who;
        }
      }
      return undefined;
    },

    forgetKey(keyId) {
      for (const map of [links, sessions]) for (const [k, g] of map) if (g.who.keyId === keyId) map.delete(k);
    },
  };
}
