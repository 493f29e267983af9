import type { FastifyInstance } from 'fastify';
import type { BackchannelLogoutResult } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { OidcSettings } from '../auth/oidc-settings.ts';
import type { OidcVerifier } from '../auth/oidc-verifier.ts';
import type { SqliteSessionStore } from '../auth/session-store.ts';

/** Where the provider posts logout tokens; register it at the provider as the client's `backchannel_logout_uri`. */
export const BACKCHANNEL_LOGOUT_PATH = '/api/v1/auth/oidc/backchannel-logout';

const MAX_BODY_BYTES = 16 * 1024;
/** Logout-token ids remembered against replay (oldest forgotten first; each kept until it could expire). */
const MAX_SEEN_JTIS = 10_000;

export interface BackchannelLogoutDeps {
  settings: OidcSettings;
  verifier: OidcVerifier;
  sessions?: SqliteSessionStore;
  nowMs?: () => number;
}

/**
 * OpenID Connect Back-Channel Logout 1.0: when a user logs out at the provider (or the provider ends
 * their session), it posts a signed logout token here and the router ends the browser sessions that
 * login made. The route is public (the provider has no credential of ours): the token's signature,
 * issuer, audience (our client id), event, `jti` (once) and age are the authentication. It takes a
 * form body, which the guard chain otherwise refuses on POST: no cookie is read here, so a cross-site
 * form post can do nothing without a token only the provider can sign.
 */
export function registerBackchannelLogout(
  app: FastifyInstance,
  deps: BackchannelLogoutDeps | undefined,
): void {
  const now = deps?.nowMs ?? Date.now;
  const seen = new Map<string, number>();
  const firstUse = (jti: string, untilMs: number): boolean => {
    for (const [k, until] of seen) {
      if (until > now() && seen.size < MAX_SEEN_JTIS) break;
      seen.delete(k); // oldest first
    }
    if (seen.has(jti)) return false;
    seen.set(jti, untilMs);
    return true;
  };

  void app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: MAX_BODY_BYTES },
      (_req, body, done) => done(null, new URLSearchParams(body as string)),
    );
    scope.post(BACKCHANNEL_LOGOUT_PATH, async (req, reply): Promise<BackchannelLogoutResult> => {
      if (!deps?.settings.clientId)
        throw new PlatformError(
          'NOT_IMPLEMENTED',
          'OIDC login is not configured on this server, so there is nothing to log out',
        );
      const form = req.body instanceof URLSearchParams ? req.body : undefined;
      const tokens = form?.getAll('logout_token') ?? [];
      if (tokens.length !== 1 || !tokens[0])
        throw new PlatformError(
          'BAD_REQUEST',
          'send one logout_token as application/x-www-form-urlencoded (OpenID Connect Back-Channel Logout)',
        );
      const claims = await deps.verifier.verifyLogoutToken(tokens[0]);
      if (!firstUse(claims.jti, claims.replayableUntilMs))
        throw new PlatformError('BAD_REQUEST', 'logout token refused: it was already used (jti)');
      const ended = deps.sessions?.revokeOidc(claims) ?? 0;
      req.log.info({ ended, sid: claims.sid !== undefined }, 'back-channel logout');
      void reply.header('cache-control', 'no-store');
      return { ended };
    });
  });
}
