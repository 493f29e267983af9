import { createServer } from 'node:net';
import { pino } from 'pino';
import type { DataPlane } from '@agenttier/core';
import type {
  TestAccount,
  TestOidcProvider,
  TestOidcProviderOpts,
  TestSigningKey,
} from '@agenttier/testkit/oidc';
import { startTestOidcProvider } from '@agenttier/testkit/oidc';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { createApp } from '../app.ts';
import { SqliteSessionStore } from '../auth/session-store.ts';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { seededStore } from './seeded-store.ts';

/** The API identifier and the router's web client at the test provider. */
export const TEST_OIDC_AUDIENCE = 'https://agenttier.test/api';
export const TEST_WEB_CLIENT_ID = 'agenttier-web';
const TEST_WEB_CLIENT_SECRET = 'web-secret';

/**
 * A free loopback port, found by listening on port 0 and closing again: the router's address must be
 * known before the provider starts, because the provider registers the callback URI up front.
 */
async function reserveLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

type TestClient = TestOidcProviderOpts['clients'][number];

/** The router's confidential web client (authorization code) as the test provider registers it. */
function testWebClient(routerUrl: string, extra: Partial<TestClient> = {}): TestClient {
  return {
    client_id: TEST_WEB_CLIENT_ID,
    client_secret: TEST_WEB_CLIENT_SECRET,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${routerUrl}/api/v1/auth/oidc/callback`],
    ...extra,
  };
}

export interface OidcTestbedInput {
  /** The provider's signing key. */
  signingKey: TestSigningKey;
  /** Users for the provider's login form. */
  accounts: Record<string, TestAccount>;
  /** More of the web client's registration at the provider, given the router's URL. */
  webClient?: (routerUrl: string) => Partial<TestClient>;
  /** Members of this group are admins; also asks the provider for the `groups` scope. */
  adminGroup?: string;
  /** More app dependencies (an audit log, …). */
  deps?: Partial<AppDeps>;
}

export interface OidcTestbed {
  idp: TestOidcProvider;
  app: FastifyInstance;
  /** The router, at `http://localhost:<port>` (another site than the provider's 127.0.0.1). */
  url: string;
  apiKeys: SqliteApiKeyStore;
  sessions: SqliteSessionStore;
  /** Closes the app, its stores (not those passed in `deps`) and the provider. */
  close(): Promise<void>;
}

/**
 * A real OpenID provider on loopback with the router's web client registered, and a listening router
 * with OIDC browser login on through it: real in-memory SQLite key and session stores, no data plane.
 * What the OIDC login and logout tests sign in through.
 */
export async function startOidcTestbed(input: OidcTestbedInput): Promise<OidcTestbed> {
  const port = await reserveLoopbackPort();
  const url = `http://localhost:${port}`;
  const idp = await startTestOidcProvider({
    audience: TEST_OIDC_AUDIENCE,
    keys: [input.signingKey],
    clients: [testWebClient(url, input.webClient?.(url))],
    accounts: input.accounts,
  });
  const apiKeys = new SqliteApiKeyStore(':memory:');
  const sessions = new SqliteSessionStore(':memory:');
  const app = createApp({
    store: await seededStore(),
    dataPlaneFor: async () => ({}) as DataPlane,
    logger: pino({ level: 'silent' }),
    apiKeys,
    sessions: { store: sessions },
    oidc: {
      issuer: idp.issuer,
      audience: [TEST_OIDC_AUDIENCE],
      clientId: TEST_WEB_CLIENT_ID,
      clientSecret: TEST_WEB_CLIENT_SECRET,
      scopes: ['openid', 'email', 'profile', ...(input.adminGroup ? ['groups'] : [])],
      ...(input.adminGroup ? { adminGroup: input.adminGroup } : {}),
    },
    ...input.deps,
  });
  await app.listen({ host: '127.0.0.1', port });
  return {
    idp,
    app,
    url,
    apiKeys,
    sessions,
    async close() {
      await app.close();
      apiKeys.close();
      sessions.close();
      await idp.close();
    },
  };
}
