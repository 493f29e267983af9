/**
 * Preview links in real Chromium (playwright-core, Debian's chromium) against a router with API keys
 * and a real sandboxd on the host: the browser, which cannot send a key, opens a single-use link and
 * lands on the app with a session cookie it keeps on that preview origin only, out of the page's reach.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '@agenttier/testkit/browser';
import type { FastifyInstance } from 'fastify';
import type { SqliteStore } from '@agenttier/platform-local';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import { generateApiKey } from '../auth/api-key-format.ts';
import { PREVIEW_COOKIE } from '../auth/preview-sessions.ts';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';
import { createHostShellTemplate, createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { insertApiKey } from '../testing/api-key.ts';
import { closeServer, listenOnLoopback } from '../testing/loopback-server.ts';

let sd: LocalSandboxd;
let browser: Browser;
let appServer: Server;
let otherServer: Server;
let appPort: number;
let otherPort: number;
let store: SqliteStore;
let keys: SqliteApiKeyStore;
let app: FastifyInstance;
let routerPort: number;
const key = generateApiKey();

beforeAll(async () => {
  sd = await startLocalSandboxd();
  const serve = (label: string) =>
    createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<title>${label}</title><p id="path">${req.url}</p><p id="cookie">${req.headers.cookie ?? ''}</p>`,
      );
    });
  appServer = serve('app');
  otherServer = serve('other');
  appPort = await listenOnLoopback(appServer);
  otherPort = await listenOnLoopback(otherServer);

  store = await seededStore();
  keys = new SqliteApiKeyStore(':memory:');
  await insertApiKey(keys, 'admin', { isAdmin: true, key });
  app = createBareApp(store, {
    sandboxdFor: () => sd.client,
    apiKeys: keys,
  });
  routerPort = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
  const headers = { 'x-api-key': key, 'content-type': 'application/json' };
  await createHostShellTemplate(app, sd.workspace, headers);
  await createRunningSandbox(app, store, { name: 'web', headers });
  for (const port of [appPort, otherPort]) {
    const f = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes/web/ports',
      headers,
      payload: { port },
    });
    expect(f.statusCode, f.body).toBe(201);
  }
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
  keys?.close();
  for (const s of [appServer, otherServer]) {
    await closeServer(s);
  }
  await sd?.stop();
});

it('opens a preview from a single-use link, with a cookie scoped to that preview and out of scripts’ reach', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const preview = `http://${appPort}-web--default.localhost:${routerPort}`;
  // Without a link the browser has no credential to show.
  expect((await page.goto(`${preview}/`))!.status()).toBe(401);

  const minted = await app.inject({
    method: 'POST',
    url: `/api/v1/sandboxes/web/ports/${appPort}/preview-link`,
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    payload: { path: '/app?x=1' },
  });
  expect(minted.statusCode, minted.body).toBe(201);
  const { url } = minted.json() as { url: string };
  const landed = await page.goto(url);
  expect(landed!.status()).toBe(200);
  expect(page.url()).toBe(`${preview}/app?x=1`); // the token left the address bar
  expect(await page.textContent('#path')).toBe('/app?x=1');
  expect(await page.textContent('#cookie')).toBe(''); // the app never sees the session cookie
  expect(await page.evaluate('document.cookie')).toBe(''); // nor does its script (HttpOnly)
  const cookies = await context.cookies();
  expect(cookies).toEqual([
    expect.objectContaining({
      name: PREVIEW_COOKIE,
      domain: `${appPort}-web--default.localhost`, // host-only: no other preview, not the API
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
    }),
  ]);
  // Same-origin requests of the app carry it.
  expect(await page.evaluate(`fetch('/more').then((r) => r.status)`)).toBe(200);
  // A reload of the spent link is refused; the session goes on.
  expect((await page.goto(url))!.status()).toBe(401);
  expect((await page.goto(`${preview}/again`))!.status()).toBe(200);
  // Another port of the same sandbox, and the API, see no credential.
  expect((await page.goto(`http://${otherPort}-web--default.localhost:${routerPort}/`))!.status()).toBe(401);
  expect((await page.goto(`http://localhost:${routerPort}/api/v1/sandboxes`))!.status()).toBe(401);
  await context.close();
}, 120_000);
