import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { PlatformError, SESSION_BINDING_RE } from '@agenttier/contract';
import { hashSessionBinding } from '../auth/session-binding.ts';
import type { OidcSettings } from '../auth/oidc-settings.ts';
import type { OidcVerifier } from '../auth/oidc-verifier.ts';
import { clearCookie, cookieValues, serializeCookie } from '../auth/session-cookie.ts';
import type { BrowserSessionOpts } from './auth-session.ts';
import type { QueryRoute } from './route-input.ts';
import { startSession } from './auth-session.ts';

export interface OidcLoginDeps {
  settings: OidcSettings;
  verifier: OidcVerifier;
  sessions: BrowserSessionOpts;
  nowMs?: () => number;
  fetch?: typeof fetch;
}

/** A login on its way through the provider, keyed by `state`; used once. */
interface PendingLogin {
  nonce: string;
  codeVerifier: string;
  /** SHA-256 of the value of the browser-binding cookie set when the login started. */
  binderHash: string;
  redirectUri: string;
  returnTo: string;
  /** SHA-256 of the session binding the web UI chose and keeps (auth/session-binding.ts). */
  sessionBindingHash: string;
  startedAtMs: number;
}

const PENDING_TTL_MS = 10 * 60 * 1000;
const MAX_PENDING = 10_000;
export const CALLBACK_PATH = '/api/v1/auth/oidc/callback';

const hasControlChars = (v: string) => [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
const b64url = (n: number) => randomBytes(n).toString('base64url');
const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * Where to send the browser after login: a path on this origin only (`/…`, never `//host` or a
 * scheme), so the login cannot be turned into an open redirect.
 */
export function safeReturnPath(v: unknown): string {
  if (typeof v !== 'string' || v.length > 2048) return '/';
  if (!v.startsWith('/') || v.startsWith('//') || v.includes('\\') || hasControlChars(v)) return '/';
  return v;
}

/** The binding cookie's name: `__Secure-` over TLS (`__Host-` needs Path=/; this one is narrower). */
function binderCookieName(secure: boolean): string {
  return secure ? '__Secure-agenttier_oidc' : 'agenttier_oidc';
}

/**
 * OIDC authorization code + PKCE login for browsers. `state` ties the callback to a login this
 * router started, a `SameSite=Lax` cookie ties it to the browser that started it (so nobody can
 * log a victim into the attacker's account by sending them a callback link), `nonce` ties the ID
 * token to this login, and the PKCE verifier ties the code to it (an intercepted code is useless).
 */
export function registerOidcLoginRoutes(app: FastifyInstance, deps: OidcLoginDeps | undefined): void {
  const pending = new Map<string, PendingLogin>();
  const now = deps?.nowMs ?? Date.now;
  const doFetch = deps?.fetch ?? fetch;
  const secure = deps?.sessions.secureCookies ?? false;
  const binderName = binderCookieName(secure);

  const configured = (): OidcLoginDeps => {
    if (!deps?.settings.clientId)
      throw new PlatformError(
        'NOT_IMPLEMENTED',
        'OIDC login is not configured on this server (set AGENTTIER_OIDC_ISSUER and AGENTTIER_OIDC_CLIENT_ID); log in with an API key',
      );
    return deps;
  };

  const prune = () => {
    for (const [state, p] of pending) {
      if (now() - p.startedAtMs < PENDING_TTL_MS && pending.size < MAX_PENDING) break;
      pending.delete(state); // oldest first (Map keeps insertion order)
    }
  };

  const redirectUriOf = (req: FastifyRequest, d: OidcLoginDeps): string =>
    // The Host was checked against the allow-list by the guard chain before this runs.
    d.settings.redirectUrl ?? `${secure ? 'https' : 'http'}://${req.headers.host}${CALLBACK_PATH}`;

  app.get<QueryRoute<'returnTo' | 'binding'>>('/api/v1/auth/oidc/login', async (req, reply) => {
    const d = configured();
    // The UI chose the binding and keeps it in its own storage: the session this login ends in works
    // only for that page. A server-made one handed back through the redirect would not do: a page on
    // another port can plant the binder cookie below and walk the victim through the attacker's login.
    const binding = req.query.binding;
    if (typeof binding !== 'string' || !SESSION_BINDING_RE.test(binding))
      throw new PlatformError(
        'BAD_REQUEST',
        'binding must be the session binding the web UI keeps (43 base64url characters); start the login from the web UI',
      );
    const disc = await d.verifier.discovery();
    if (!disc.authorization_endpoint || !disc.token_endpoint)
      throw new PlatformError(
        'UNAVAILABLE',
        `the OpenID provider ${d.settings.issuer} has no authorization or token endpoint`,
      );
    prune();
    const state = b64url(32);
    const binder = b64url(32);
    const codeVerifier = b64url(32);
    const p: PendingLogin = {
      nonce: b64url(32),
      codeVerifier,
      binderHash: sha256(binder).toString('hex'),
      redirectUri: redirectUriOf(req, d),
      returnTo: safeReturnPath(req.query.returnTo),
      sessionBindingHash: hashSessionBinding(binding),
      startedAtMs: now(),
    };
    pending.set(state, p);
    const url = new URL(disc.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: d.settings.clientId!,
      redirect_uri: p.redirectUri,
      scope: (d.settings.scopes ?? ['openid', 'email', 'profile']).join(' '),
      state,
      nonce: p.nonce,
      code_challenge: sha256(codeVerifier).toString('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    // Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
    void reply
      .header(
        'set-cookie',
        serializeCookie(binderName, binder, {
          secure,
          maxAgeSec: PENDING_TTL_MS / 1000,
          path: CALLBACK_PATH,
          sameSite: 'Lax',
        }),
      )
      .header('cache-control', 'no-store');
    return reply.redirect(url.toString(), 302);
  });

  app.get<QueryRoute<'code' | 'state' | 'iss' | 'error' | 'error_description'>>(
    CALLBACK_PATH,
    async (req, reply) => {
      const d = configured();
      const q = req.query;
      if (typeof q.error === 'string')
        throw new PlatformError(
          'UNAUTHENTICATED',
          `the OpenID provider refused the login: ${q.error.slice(0, 100)}${typeof q.error_description === 'string' ? ` (${q.error_description.slice(0, 300)})` : ''}`,
        );
      if (typeof q.state !== 'string' || typeof q.code !== 'string')
        throw new PlatformError('BAD_REQUEST', 'the callback needs "code" and "state" from the provider');
      const p = pending.get(q.state);
      pending.delete(q.state); // one use, whatever happens next
      if (!p || now() - p.startedAtMs >= PENDING_TTL_MS)
        throw new PlatformError(
          'BAD_REQUEST',
          'unknown or expired login (state); start again at /api/v1/auth/oidc/login',
        );
      const binders = cookieValues(req.headers.cookie, binderName);
      const expected = Buffer.from(p.binderHash, 'hex');
      if (binders.length !== 1 || !timingSafeEqual(sha256(binders[0]!), expected))
        throw new PlatformError(
          'BAD_REQUEST',
          'this login was not started in this browser; start again at /api/v1/auth/oidc/login',
        );
      if (
        typeof q.iss === 'string' &&
        q.iss !== d.settings.issuer &&
        q.iss !== d.settings.issuer.replace(/\/$/, '')
      )
        throw new PlatformError('BAD_REQUEST', 'the callback names another issuer');
      const disc = await d.verifier.discovery();
      const form = new URLSearchParams({
        grant_type: 'authorization_code',
        code: q.code,
        redirect_uri: p.redirectUri,
        code_verifier: p.codeVerifier,
        client_id: d.settings.clientId!,
      });
      const headers: Record<string, string> = {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      };
      if (d.settings.clientSecret !== undefined)
        headers.authorization = `Basic ${Buffer.from(
          `${encodeURIComponent(d.settings.clientId!)}:${encodeURIComponent(d.settings.clientSecret)}`,
        ).toString('base64')}`;
      let tokens: { id_token?: unknown; error?: unknown; error_description?: unknown };
      try {
        const res = await doFetch(disc.token_endpoint!, {
          method: 'POST',
          headers,
          body: form,
          signal: AbortSignal.timeout(d.settings.fetchTimeoutMs ?? 5000),
          redirect: 'error',
        });
        tokens = (await res.json()) as typeof tokens;
      } catch (err) {
        throw new PlatformError(
          'UNAVAILABLE',
          `the OpenID provider's token endpoint failed: ${(err as Error).message}`,
        );
      }
      if (typeof tokens.id_token !== 'string')
        throw new PlatformError(
          'UNAUTHENTICATED',
          `the OpenID provider gave no ID token: ${String(tokens.error ?? 'no error').slice(0, 100)} ${String(tokens.error_description ?? '').slice(0, 300)}`,
        );
      const who = await d.verifier.verifyIdToken(tokens.id_token, p.nonce);
      req.identity = who;
      // Verified just above; kept so the provider's back-channel logout can name this session.
      const { sub, sid } = decodeJwt(tokens.id_token);
      startSession(d.sessions, reply, who, 'oidc', p.sessionBindingHash, {
        ...(typeof sub === 'string' ? { oidcSub: sub } : {}),
        ...(typeof sid === 'string' ? { oidcSid: sid } : {}),
      });
      void reply
        .header('set-cookie', clearCookie(binderName, { secure, path: CALLBACK_PATH, sameSite: 'Lax' }))
        .header('cache-control', 'no-store');
      return reply.redirect(p.returnTo, 302);
    },
  );
}
