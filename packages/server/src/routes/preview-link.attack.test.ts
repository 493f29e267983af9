/**
 * Preview links: with API keys on, a browser opens a preview through a single-use link that the preview
 * origin swaps for a session cookie. Attacks: reuse, expiry, another sandbox, another port, the API
 * origin, another owner, a revoked key, an app in the sandbox reading or forging the cookie. Real
 * sockets against a real sandboxd on the host (its "inside" is the host's loopback), SQLite keys.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { SqliteStore } from '@agenttier/platform-local';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import type { FastifyInstance } from 'fastify';
import { PREVIEW_COOKIE, PREVIEW_COOKIE_TLS } from '../auth/preview-sessions.ts';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { requestWithHost } from '../testing/host-request.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';
import { createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { insertApiKey } from '../testing/api-key.ts';
import { closeServer, listenOnLoopback } from '../testing/loopback-server.ts';

let sd: LocalSandboxd;
/** The app "inside the sandbox": answers with what it received; `/set` tries to plant router cookies. */
let echo: Server;
let echoPort: number;
let otherPort: number;
let other: Server;

beforeAll(async () => {
  sd = await startLocalSandboxd();
  const handler: Parameters<typeof createServer>[1] = (req, res) => {
    if (req.url === '/set')
      res.setHeader('set-cookie', [
        `${PREVIEW_COOKIE}=forged; Path=/`,
        `${PREVIEW_COOKIE_TLS}=forged; Path=/; Secure`,
        'app=1; Path=/',
      ]);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  };
  echo = createServer(handler);
  const wss = new WebSocketServer({ server: echo });
  wss.on('connection', (ws, req) => ws.send(JSON.stringify({ headers: req.headers })));
  other = createServer(handler);
  echoPort = await listenOnLoopback(echo);
  otherPort = await listenOnLoopback(other);
}, 300_000);

afterAll(async () => {
  for (const s of [echo, other]) {
    await closeServer(s);
  }
  await sd?.stop();
});

let store: SqliteStore;
let keys: SqliteApiKeyStore;
let app: FastifyInstance;
let base: string;
let clockMs: number;
const key: Record<string, string> = {};
const keyId: Record<string, string> = {};

async function issue(user: string, isAdmin = false): Promise<void> {
  ({ key: key[user], keyId: keyId[user] } = await insertApiKey(keys, user, { isAdmin }));
}

async function start(previewOrigin?: string): Promise<void> {
  app = createBareApp(store, {
    sandboxdFor: () => sd.client,
    apiKeys: keys,
    keyAuth: { failureBurst: 1000 },
    previewSessions: { nowMs: () => clockMs },
    ...(previewOrigin ? { http: { previewOrigin } } : {}),
  });
  base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', 'localhost');
}

beforeEach(async () => {
  clockMs = Date.now();
  store = await seededStore();
  keys = new SqliteApiKeyStore(':memory:');
  await issue('admin', true);
  await issue('alice');
  await issue('mallory');
});

afterEach(async () => {
  await app?.close();
  await store.close();
  keys.close();
});

const as = (user: string) => ({ 'x-api-key': key[user]!, 'content-type': 'application/json' });

async function sandboxWithPorts(user: string, name: string, ports: number[]): Promise<void> {
  const tpl = await app.inject({
    method: 'POST',
    url: '/api/v1/templates',
    headers: as('admin'),
    payload: {
      name: 'host-shell',
      spec: { image: { repository: 'unused:dev' }, harness: { shell: '/bin/sh', workingDir: sd.workspace } },
    },
  });
  expect([201, 409]).toContain(tpl.statusCode);
  await createRunningSandbox(app, store, { name, headers: as(user) });
  for (const port of ports) {
    const f = await app.inject({
      method: 'POST',
      url: `/api/v1/sandboxes/${name}/ports`,
      headers: as(user),
      payload: { port },
    });
    expect(f.statusCode, f.body).toBe(201);
  }
}

async function mint(user: string, name: string, port: number, payload?: object) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/sandboxes/${name}/ports/${port}/preview-link`,
    headers: as(user),
    ...(payload ? { payload } : {}),
  });
}

/** Opens a link the way a browser does: GET on the preview host; returns the answer. */
async function open(url: string) {
  const u = new URL(url);
  return requestWithHost(base, u.host, `${u.pathname}${u.search}`);
}

/** `name=value` of the Set-Cookie the exchange answered with. */
const cookiePair = (setCookie: string[] | undefined): string => setCookie![0]!.split(';')[0]!;

describe('preview links', () => {
  it('a link opens the preview once, as a host-only HttpOnly cookie, and the token leaves the URL', async () => {
    await start();
    await sandboxWithPorts('alice', 'web', [echoPort]);
    const host = `${echoPort}-web--default.localhost:${new URL(base).port}`;
    // Without a credential a browser gets nothing.
    expect((await requestWithHost(base, host, '/')).status).toBe(401);

    const m = await mint('alice', 'web', echoPort, { path: '/app?x=1' });
    expect(m.statusCode, m.body).toBe(201);
    const link = m.json() as { url: string; expiresAt: string; previewUrl: string };
    expect(link.previewUrl).toBe(`http://${host}/`);
    expect(link.url.startsWith(`http://${host}/__agenttier/preview-session?token=`)).toBe(true);

    const ex = await open(link.url);
    expect(ex.status, ex.text).toBe(303);
    expect(ex.headers.location).toBe('/app?x=1');
    expect(ex.headers['referrer-policy']).toBe('no-referrer');
    expect(ex.headers['cache-control']).toBe('no-store');
    const setCookie = ex.headers['set-cookie']![0]!;
    expect(setCookie).toMatch(new RegExp(`^${PREVIEW_COOKIE}=[A-Za-z0-9_-]{43}; `));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toMatch(/Domain=/i);
    const cookie = cookiePair(ex.headers['set-cookie']);

    const page = await requestWithHost(base, host, '/app?x=1', { headers: { cookie: `${cookie}; app=1` } });
    expect(page.status, page.text).toBe(200);
    // The app in the sandbox never sees the session cookie (it could replay it), only its own.
    expect(page.json.headers.cookie).toBe('app=1');

    // A WebSocket from the preview page carries the cookie too.
    const ws = new WebSocket(`ws://127.0.0.1:${new URL(base).port}/`, {
      headers: { host, cookie, origin: `http://${host}` },
    });
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
    });
    expect(JSON.parse(first).headers.cookie).toBeUndefined();
    ws.close();

    // Single use.
    const again = await open(link.url);
    expect(again.status).toBe(401);
    expect(again.json.code).toBe('UNAUTHENTICATED');
  });

  it('the cookie is worth nothing for another port, another sandbox or the API', async () => {
    await start();
    await sandboxWithPorts('alice', 'web', [echoPort, otherPort]);
    await sandboxWithPorts('alice', 'db', [echoPort]);
    const port = new URL(base).port;
    const link = (await mint('alice', 'web', echoPort)).json() as { url: string };
    const cookie = cookiePair((await open(link.url)).headers['set-cookie']);
    const headers = { cookie };
    expect(
      (await requestWithHost(base, `${echoPort}-web--default.localhost:${port}`, '/', { headers })).status,
    ).toBe(200);
    expect(
      (await requestWithHost(base, `${otherPort}-web--default.localhost:${port}`, '/', { headers })).status,
    ).toBe(401);
    expect(
      (await requestWithHost(base, `${echoPort}-db--default.localhost:${port}`, '/', { headers })).status,
    ).toBe(401);
    for (const path of ['/api/v1/sandboxes', '/api/v1/sandboxes/web', '/api/v1/user/me']) {
      const api = await requestWithHost(base, `localhost:${port}`, path, { headers });
      expect(api.status, path).toBe(401);
    }
    // A link minted for one port cannot be spent on another port's host.
    const link2 = (await mint('alice', 'web', echoPort)).json() as { url: string };
    const u = new URL(link2.url);
    const wrong = await requestWithHost(
      base,
      `${otherPort}-web--default.localhost:${port}`,
      `${u.pathname}${u.search}`,
    );
    expect(wrong.status).toBe(401);
    // …and is spent by that attempt (single use, whatever happened).
    expect((await open(link2.url)).status).toBe(401);
  });

  it('refuses strangers, unforwarded ports and paths that leave the preview origin', async () => {
    await start();
    await sandboxWithPorts('alice', 'web', [echoPort]);
    const stranger = await mint('mallory', 'web', echoPort);
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json().code).toBe('SANDBOX_NOT_FOUND');
    const unforwarded = await mint('alice', 'web', otherPort);
    expect([unforwarded.statusCode, unforwarded.json().code]).toEqual([404, 'PORT_NOT_FOUND']);
    for (const path of ['//evil.example/', 'https://evil.example/', '/\\evil', 'app', '/a b', '/\n']) {
      const r = await mint('alice', 'web', echoPort, { path });
      expect(r.statusCode, path).toBe(400);
      expect(r.json().code).toBeTypeOf('string');
    }
    expect((await mint('alice', 'web', echoPort, { path: '/', extra: 1 })).statusCode).toBe(400);
    const noKey = await app.inject({
      method: 'POST',
      url: `/api/v1/sandboxes/web/ports/${echoPort}/preview-link`,
    });
    expect(noKey.statusCode).toBe(401);
    // The session acts as its minter: once alice's sandbox is given away... it is still alice's check.
    const link = (await mint('admin', 'web', echoPort)).json() as { url: string };
    expect((await open(link.url)).status).toBe(303);
  });

  it('links expire, and revoking the key ends its links and sessions', async () => {
    await start();
    await sandboxWithPorts('alice', 'web', [echoPort]);
    const host = `${echoPort}-web--default.localhost:${new URL(base).port}`;
    const stale = (await mint('alice', 'web', echoPort)).json() as { url: string };
    clockMs += 61_000;
    expect((await open(stale.url)).status).toBe(401);

    const link = (await mint('alice', 'web', echoPort)).json() as { url: string };
    const cookie = cookiePair((await open(link.url)).headers['set-cookie']);
    const pending = (await mint('alice', 'web', echoPort)).json() as { url: string };
    expect((await requestWithHost(base, host, '/', { headers: { cookie } })).status).toBe(200);
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/api/v1/user/api-keys/${keyId.alice}`,
      headers: as('alice'),
    });
    expect(revoke.statusCode, revoke.body).toBe(204);
    expect((await requestWithHost(base, host, '/', { headers: { cookie } })).status).toBe(401);
    expect((await open(pending.url)).status).toBe(401);

    // Sessions expire too (8 h).
    await issue('alice');
    const fresh = (await mint('alice', 'web', echoPort)).json() as { url: string };
    const c2 = cookiePair((await open(fresh.url)).headers['set-cookie']);
    clockMs += 8 * 60 * 60_000 + 1;
    expect((await requestWithHost(base, host, '/', { headers: { cookie: c2 } })).status).toBe(401);
  });

  it('an app in the sandbox cannot plant or read the router cookie; TLS previews get a __Host- cookie', async () => {
    await start('https://*.preview.test');
    await sandboxWithPorts('alice', 'web', [echoPort]);
    const link = (await mint('alice', 'web', echoPort)).json() as { url: string };
    expect(link.url.startsWith(`https://${echoPort}-web--default.preview.test/`)).toBe(true);
    const ex = await open(link.url);
    const setCookie = ex.headers['set-cookie']![0]!;
    expect(setCookie.startsWith(`${PREVIEW_COOKIE_TLS}=`)).toBe(true);
    expect(setCookie).toContain('Secure');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toMatch(/Domain=/i);
    const cookie = cookiePair(ex.headers['set-cookie']);
    const host = `${echoPort}-web--default.preview.test`;
    const res = await requestWithHost(base, host, '/set', { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.json.headers.cookie).toBeUndefined();
    expect(res.headers['set-cookie']).toEqual(['app=1; Path=/']);
  });
});
