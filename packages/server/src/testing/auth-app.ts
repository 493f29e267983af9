import { pino } from 'pino';
import type { DataPlane } from '@agenttier/core';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { SqliteAgentRecords } from '../agent/sqlite-agent-records.ts';
import type { AppDeps } from '../app.ts';
import { createApp } from '../app.ts';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { routeTableOf } from '../openapi.ts';
import { insertApiKey } from './api-key.ts';
import { seededStore } from './seeded-store.ts';

/**
 * An app with API keys on, real in-memory SQLite stores, no data plane (routes that need a running
 * sandbox answer 409 after the access check), for authorization tests.
 */
export interface AuthTestApp {
  app: FastifyInstance;
  keys: SqliteApiKeyStore;
  /** Inserts a key for user `id` straight into the store. */
  issue(id: string, isAdmin?: boolean): Promise<{ key: string; keyId: string }>;
  /** A JSON request with an API key (no body on GET/DELETE/OPTIONS). */
  call(key: string, method: string, url: string, payload?: unknown): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function startAuthTestApp(extra: Partial<AppDeps> = {}): Promise<AuthTestApp> {
  const store = await seededStore();
  const keys = new SqliteApiKeyStore(':memory:');
  const app = createApp({
    store,
    dataPlaneFor: async (): Promise<DataPlane> => {
      throw new Error('no data plane in this test');
    },
    logger: pino({ level: 'silent' }),
    sandboxdFor: () => undefined,
    agentRecords: new SqliteAgentRecords(':memory:'),
    apiKeys: keys,
    // Refused keys are the point of these tests, not the failure rate limit.
    keyAuth: { failureBurst: 100_000 },
    ...extra,
  });
  await app.ready();
  const bodyless = (m: string) => m === 'GET' || m === 'DELETE' || m === 'OPTIONS' || m === 'HEAD';
  return {
    app,
    keys,
    issue: (id, isAdmin = false) => insertApiKey(keys, id, { isAdmin }),
    call: (key, method, url, payload) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: { 'x-api-key': key, ...(bodyless(method) ? {} : { 'content-type': 'application/json' }) },
        ...(bodyless(method) ? {} : { payload: JSON.stringify(payload ?? {}) }),
      }),
    async close() {
      await app.close();
      keys.close();
    },
  };
}

/** Every registered route with its parameters filled in (`:id` → `sandbox`), HEAD as GET. */
export function filledRoutes(
  app: FastifyInstance,
  sandbox: string,
): Array<{ route: string; method: string; url: string }> {
  return [...new Set(routeTableOf(app).map((r) => r.replace(/^HEAD /, 'GET ')))].map((route) => {
    const [method, template] = route.split(' ') as [string, string];
    const filled = template
      .replace(':id', sandbox)
      .replace(/:[a-zA-Z]+/g, '1')
      .replace(/\*$/, 'f');
    return { route, method, url: filled.includes('/fs/') ? `${filled}?path=/tmp` : filled };
  });
}
