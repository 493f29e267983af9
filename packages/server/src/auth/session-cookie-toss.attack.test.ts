/**
 * Cookie tossing from another port of the router's host, in real Chromium. Cookies ignore ports: a page
 * on `http://127.0.0.1:OTHER` or `http://localhost:OTHER` (a sandbox's app opened through
 * `agenttier sandbox port-forward`, any local dev server) can set `agenttier_session` for the router's
 * host with a narrower `Path` (it cannot overwrite the real HttpOnly cookie at `Path=/`). The router
 * refuses a request carrying two session cookies (one was planted); before this defence the planted one
 * stayed for as long as the page chose (ten years here), so the user was locked out of the web UI even
 * after logging in again (red team, against `agenttier up`). Now the refusal expires the planted copies.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium, LOOPBACK_ONLY_RESOLVER } from '@agenttier/testkit/browser';
import { SESSION_BINDING_HEADER } from '@agenttier/contract';
import type { SessionApp } from '../testing/session-app.ts';
import { startSessionApp } from '../testing/session-app.ts';
import { closeServer, listenOnLoopback } from '../testing/loopback-server.ts';

const TEN_YEARS_SEC = 315_360_000;

let browser: Browser;
/** The page on another port of the same host that plants the cookie (`?cookie=` is what it sets). */
let tosser: Server;
let tosserPort: number;
let router: SessionApp;
let routerPort: number;
let context: BrowserContext;
let key: string;

beforeAll(async () => {
  tosser = createServer((req, res) => {
    const cookie = new URL(req.url ?? '/', 'http://x').searchParams.get('cookie') ?? '';
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(`<script>document.cookie = ${JSON.stringify(cookie)}; window.result = 'planted';</script>`);
  });
  tosserPort = await listenOnLoopback(tosser);
  browser = await launchChromium({ hostResolverRules: LOOPBACK_ONLY_RESOLVER });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await closeServer(tosser);
});

beforeEach(async () => {
  router = await startSessionApp({ owner: 'alice' });
  ({ key, port: routerPort } = router);
  context = await browser.newContext();
});

afterEach(async () => {
  await context.close();
  await router.close();
});

describe('a page on another port of the router’s host', () => {
  for (const { host, planted } of [
    { host: '127.0.0.1', planted: `agenttier_session=planted; Path=/api; Max-Age=${TEN_YEARS_SEC}` },
    {
      host: 'localhost',
      planted: `agenttier_session=planted; Path=/api/v1/user; Domain=localhost; Max-Age=${TEN_YEARS_SEC}`,
    },
  ])
    it(`cannot lock the web UI out with a planted session cookie (${host}, ${planted.split('; ')[1]})`, async () => {
      const ui = await context.newPage();
      await ui.goto(`http://${host}:${routerPort}/healthz`);
      // As the web UI does: the session's binding is kept in the origin's storage and sent along.
      const login = `fetch('/api/v1/auth/session', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: ${JSON.stringify(key)} }) })
        .then(async (r) => { localStorage.setItem('binding', (await r.json()).binding); return r.status; })`;
      const me = `fetch('/api/v1/user/me', { headers: { '${SESSION_BINDING_HEADER}': localStorage.getItem('binding') } })
        .then((r) => r.status)`;
      expect(await ui.evaluate(login)).toBe(201);
      expect(await ui.evaluate(me)).toBe(200);

      const page = await context.newPage();
      await page.goto(`http://${host}:${tosserPort}/?cookie=${encodeURIComponent(planted)}`);
      expect(await page.evaluate('window.result')).toBe('planted');
      const names = (await context.cookies(`http://${host}:${routerPort}/api/v1/user/me`)).map((c) => c.name);
      expect(names.filter((n) => n === 'agenttier_session')).toHaveLength(2);

      // Two session cookies authorise nothing (one was planted) ...
      expect(await ui.evaluate(me)).toBe(401);
      // ... but the planted one is gone with that answer: logging in again works.
      expect(await ui.evaluate(login)).toBe(201);
      expect(await ui.evaluate(me)).toBe(200);
      const left = await context.cookies(`http://${host}:${routerPort}/api/v1/user/me`);
      expect(left.filter((c) => c.name === 'agenttier_session')).toMatchObject([
        { path: '/', httpOnly: true },
      ]);
    });
});
