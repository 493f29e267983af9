import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuthMethods, SessionLoginResult } from '@agenttier/contract';
import {
  PlatformError,
  SESSION_BINDING_HEADER,
  parseOrThrow,
  sessionLoginRequestSchema,
} from '@agenttier/contract';
import { hashSessionBinding, newSessionBinding, presentedSessionBinding } from '../auth/session-binding.ts';
import type { Authenticator, Identity } from '../context.ts';
import { clearCookie, cookieValues, serializeCookie, sessionCookieName } from '../auth/session-cookie.ts';
import type { SqliteSessionStore } from '../auth/session-store.ts';

export interface BrowserSessionOpts {
  store: SqliteSessionStore;
  /** The router is reached over HTTPS: cookies are `__Host-…; Secure`. @default false */
  secureCookies?: boolean;
  /** How long a session lasts from login (no sliding renewal). @default 8 hours */
  ttlMs?: number;
}

export interface AuthSessionRouteDeps {
  /** Absent: this server has no browser sessions (login answers 501). */
  sessions?: BrowserSessionOpts;
  /** Checks an API key (with the failure rate limit of every other key check). */
  authenticateKey?: Authenticator;
  /** Whether OIDC login is configured (GET /api/v1/auth/methods tells the UI). */
  oidcLogin: boolean;
  /** What `agenttier login --oidc` needs: the provider and its public client for the CLI. */
  oidcCli?: AuthMethods['oidcCli'];
}

export const DEFAULT_SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/**
 * Starts a session for `who` bound to `bindingHash` (auth/session-binding.ts) and sets its cookie on
 * `reply`; returns when it ends.
 */
export function startSession(
  deps: BrowserSessionOpts,
  reply: FastifyReply,
  who: Identity,
  source: 'api-key' | 'oidc',
  bindingHash: string,
  oidc: { oidcSub?: string; oidcSid?: string } = {},
): string {
  const ttlMs = deps.ttlMs ?? DEFAULT_SESSION_TTL_MS;
  const secure = deps.secureCookies ?? false;
  const { token, record } = deps.store.create({
    identity: { ...who, via: 'session' },
    ...(who.keyId !== undefined ? { keyId: who.keyId } : {}),
    source,
    bindingHash,
    ...oidc,
    ttlMs,
  });
  void reply.header(
    'set-cookie',
    serializeCookie(sessionCookieName(secure), token, { secure, maxAgeSec: ttlMs / 1000 }),
  );
  return new Date(record.expiresAtMs).toISOString();
}

/**
 * Browser login and logout. These routes are `public` (no credential is needed to reach them):
 * login checks the key in its body itself, logout ends whatever session its cookie names. Both are
 * state-changing requests, so the Origin guard refuses them from another site.
 */
export function registerAuthSessionRoutes(app: FastifyInstance, deps: AuthSessionRouteDeps): void {
  const secure = deps.sessions?.secureCookies ?? false;
  const name = sessionCookieName(secure);
  const sessionsOrThrow = (): BrowserSessionOpts & { authenticateKey: Authenticator } => {
    if (!deps.sessions || !deps.authenticateKey)
      throw new PlatformError(
        'NOT_IMPLEMENTED',
        'this server has no browser sessions (it runs without API keys, or without a session store)',
      );
    return { ...deps.sessions, authenticateKey: deps.authenticateKey };
  };

  app.get('/api/v1/auth/methods', async (): Promise<AuthMethods> => ({
    apiKey: deps.sessions !== undefined && deps.authenticateKey !== undefined,
    oidc: deps.oidcLogin,
    ...(deps.oidcLogin ? { oidcLoginUrl: '/api/v1/auth/oidc/login' } : {}),
    ...(deps.oidcCli ? { oidcCli: deps.oidcCli } : {}),
  }));

  app.post('/api/v1/auth/session', async (req, reply): Promise<SessionLoginResult> => {
    const sessions = sessionsOrThrow();
    const body = parseOrThrow(sessionLoginRequestSchema, req.body ?? {}, 'login');
    const who = await sessions.authenticateKey({ 'x-api-key': body.apiKey }, { address: req.ip });
    req.identity = who; // the audit record names who logged in
    // The web UI sends the binding it keeps in its own storage; another client gets a new one.
    const given = req.headers[SESSION_BINDING_HEADER];
    if (given !== undefined && presentedSessionBinding(req.headers) === undefined)
      throw new PlatformError(
        'BAD_REQUEST',
        `${SESSION_BINDING_HEADER} must be 43 base64url characters (32 random bytes)`,
      );
    const binding = presentedSessionBinding(req.headers) ?? newSessionBinding();
    const expiresAt = startSession(sessions, reply, who, 'api-key', hashSessionBinding(binding));
    reply.code(201);
    return {
      user: {
        id: who.sub,
        ...(who.email !== undefined ? { email: who.email } : {}),
        ...(who.name !== undefined ? { name: who.name } : {}),
        groups: who.groups,
        isAdmin: who.isAdmin,
      },
      expiresAt,
      // Readable by the page that logged in only (a response body): send it back on every request.
      binding,
    };
  });

  app.delete('/api/v1/auth/session', async (req, reply) => {
    for (const token of cookieValues(req.headers.cookie, name)) deps.sessions?.store.revoke(token);
    void reply.header('set-cookie', clearCookie(name, { secure }));
    reply.code(204);
    return null;
  });
}
