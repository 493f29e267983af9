/**
 * `/metrics` names routes, templates and counts: it answers only on an allowed Host (a rebinding page
 * names its own) and only to an admin (any other caller, or none, is refused), unless dev auth makes
 * every keyless caller the admin. Real sockets, SQLite keys.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DataPlane } from '@agenttier/core';
import { SqliteStore } from '@agenttier/platform-local';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../app.ts';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { requestWithHost } from '../testing/host-request.ts';
import { insertApiKey } from '../testing/api-key.ts';

let app: FastifyInstance | undefined;
let keys: SqliteApiKeyStore | undefined;

afterEach(async () => {
  await app?.close();
  keys?.close();
});

async function start(devAuth: boolean): Promise<{ base: string; admin: string; user: string }> {
  keys = new SqliteApiKeyStore(':memory:');
  const issue = async (id: string, isAdmin: boolean) => (await insertApiKey(keys!, id, { isAdmin })).key;
  app = createApp({
    store: new SqliteStore({ path: ':memory:' }),
    dataPlaneFor: async () => ({}) as DataPlane,
    logger: pino({ level: 'silent' }),
    apiKeys: keys,
    devAuth,
    keyAuth: { failureBurst: 1000 },
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { base, admin: await issue('root', true), user: await issue('alice', false) };
}

describe('/metrics', () => {
  it('answers an admin on an allowed Host, and nobody else', async () => {
    const { base, admin, user } = await start(false);
    const port = new URL(base).port;
    const get = (host: string, key?: string) =>
      requestWithHost(base, host, '/metrics', { headers: key ? { 'x-api-key': key } : {} });

    const ok = await get(`localhost:${port}`, admin);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('agenttier_http_requests_total');
    const none = await get(`localhost:${port}`);
    expect(none.status).toBe(401);
    expect(none.json.code).toBe('UNAUTHENTICATED');
    const notAdmin = await get(`localhost:${port}`, user);
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.json.code).toBe('FORBIDDEN');
    // A DNS-rebinding page names its own host; the pod address is not allowed either.
    for (const host of [`evil.example:${port}`, `10.1.2.3:${port}`]) {
      const r = await get(host, admin);
      expect(r.status, host).toBe(421);
      expect(r.text).not.toContain('agenttier_http');
    }
    // Probes still answer anywhere.
    expect((await requestWithHost(base, `10.1.2.3:${port}`, '/healthz')).status).toBe(200);
  });

  it('with dev auth, a keyless caller on loopback is the admin', async () => {
    const { base, user } = await start(true);
    const port = new URL(base).port;
    expect((await requestWithHost(base, `127.0.0.1:${port}`, '/metrics')).status).toBe(200);
    const r = await requestWithHost(base, `127.0.0.1:${port}`, '/metrics', {
      headers: { 'x-api-key': user },
    });
    expect(r.status).toBe(403);
  });
});
