import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { SqliteStore } from '@agenttier/platform-local';
import type { AppDeps } from '../app.ts';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { SqliteSessionStore } from '../auth/session-store.ts';
import { insertApiKey } from './api-key.ts';
import { createBareApp } from './bare-app.ts';
import { seededStore } from './seeded-store.ts';

/** A listening router with API keys and browser sessions on, and one user's key to sign in with. */
export interface SessionApp {
  app: FastifyInstance;
  store: SqliteStore;
  keys: SqliteApiKeyStore;
  sessions: SqliteSessionStore;
  /** The user's API key, what the web UI's sign-in form takes. */
  key: string;
  /** The router's port on 127.0.0.1 (browsers reach it as 127.0.0.1 or localhost). */
  port: number;
  close(): Promise<void>;
}

export interface SessionAppOpts {
  /** The user whose key is issued. */
  owner: string;
  isAdmin?: boolean;
  /** More app dependencies (a sandboxd, say). */
  deps?: Partial<AppDeps>;
  /** Runs before the app listens: the last moment Fastify takes hooks. */
  beforeListen?: (app: FastifyInstance) => void;
}

export async function startSessionApp(opts: SessionAppOpts): Promise<SessionApp> {
  const store = await seededStore();
  const keys = new SqliteApiKeyStore(':memory:');
  const sessions = new SqliteSessionStore(':memory:');
  const { key } = await insertApiKey(keys, opts.owner, { isAdmin: opts.isAdmin ?? false });
  const app = createBareApp(store, { ...opts.deps, apiKeys: keys, sessions: { store: sessions } });
  opts.beforeListen?.(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    store,
    keys,
    sessions,
    key,
    port: (app.server.address() as AddressInfo).port,
    async close() {
      await app.close();
      keys.close();
      sessions.close();
      await store.close();
    },
  };
}
