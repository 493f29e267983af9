import { createServer } from 'node:net';
import { pino } from 'pino';
import type { DataPlane } from '@agenttier/core';
import type { TestOidcProviderOpts } from '@agenttier/testkit/oidc';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { createApp } from '../app.ts';
import type { OidcSettings } from '../auth/oidc-settings.ts';
import { SqliteSessionStore } from '../auth/session-store.ts';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { seededStore } from './seeded-store.ts';

/** The API identifier and the router's web client at the test provider, as the OIDC tests register them. */
export const TEST_OIDC_AUDIENCE = 'https://agenttier.test/api';
export const TEST_WEB_CLIENT_ID = 'agenttier-web';
export const TEST_WEB_CLIENT_SECRET = 'web-secret';

/**
 * A free loopback port, found by listening on port 0 and closing again: the router's address must be
 * known before the provider starts, because the provider registers the callback URI up front.
 */
export async function reserveLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

type TestClient = TestOidcProviderOpts['clients'][number];

/** The router's confidential web client (authorization code) as the test provider registers it. */
export function testWebClient(routerUrl: string, extra: Partial<TestClient> = {}): TestClient {
  return {
    client_id: TEST_WEB_CLIENT_ID,
    client_secret: TEST_WEB_CLIENT_SECRET,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${routerUrl}/api/v1/auth/oidc/callback`],
    ...extra,
  };
}

export interface OidcRouterInput {
  /** Loopback port to listen on (from reserveLoopbackPort). */
  port: number;
  /** The provider's issuer; the rest of the settings default to the test web client's. */
  oidc: Pick<OidcSettings, 'issuer'> & Partial<OidcSettings>;
  /** More app dependencies (an audit log, …). */
  deps?: Partial<AppDeps>;
}

export interface OidcRouter {
  app: FastifyInstance;
  /** `http://localhost:<port>` (another site than the provider's 127.0.0.1). */
  url: string;
  apiKeys: SqliteApiKeyStore;
  sessions: SqliteSessionStore;
  /** Closes the app and its stores (not stores passed in `deps`). */
  close(): Promise<void>;
}

/**
 * A listening router with OIDC browser login on, real in-memory SQLite key and session stores and no
 * data plane: what the OIDC login and logout tests sign in through.
 */
export async function startOidcRouter(input: OidcRouterInput): Promise<OidcRouter> {
  const apiKeys = new SqliteApiKeyStore(':memory:');
  const sessions = new SqliteSessionStore(':memory:');
  const app = createApp({
    store: await seededStore(),
    dataPlaneFor: async () => ({}) as DataPlane,
    logger: pino({ level: 'silent' }),
    apiKeys,
    sessions: { store: sessions },
    oidc: {
      audience: [TEST_OIDC_AUDIENCE],
      clientId: TEST_WEB_CLIENT_ID,
      clientSecret: TEST_WEB_CLIENT_SECRET,
      scopes: ['openid', 'email', 'profile'],
      ...input.oidc,
    },
    ...input.deps,
  });
  await app.listen({ host: '127.0.0.1', port: input.port });
  return {
    app,
    url: `http://localhost:${input.port}`,
    apiKeys,
    sessions,
    async close() {
      await app.close();
      apiKeys.close();
      sessions.close();
    },
  };
}
