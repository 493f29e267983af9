/**
 * OIDC login through the real web UI (its built files, served by the router) in real Chromium, and
 * session fixation through it. The UI's "Sign in with your organisation" starts the login with the
 * session binding it chose and keeps (docs/auth.md, "Session binding"), and comes back signed in.
 * Mallory, who can run a page on another port of the router's host, starts a login of her own, plants
 * its binder cookie in the victim's browser (cookies ignore ports) and walks it through her callback:
 * the victim's browser then holds Mallory's session cookie, but the UI must not work as Mallory.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, LOOPBACK_ONLY_RESOLVER } from '@agenttier/testkit/browser';
import type { TestOidcProvider } from '@agenttier/testkit/oidc';
import { loginAtProvider, newSigningKey } from '@agenttier/testkit/oidc';
import { SESSION_BINDING_HEADER } from '@agenttier/contract';
import { defaultWebUiRoot } from '../http/web-ui.ts';
import type { OidcTestbed } from '../testing/oidc-router.ts';
import { startOidcTestbed } from '../testing/oidc-router.ts';
import { closeServer, listenOnLoopback } from '../testing/loopback-server.ts';

const WAIT_MS = 60_000;

let bed: OidcTestbed;
let idp: TestOidcProvider;
let browser: Browser;
let context: BrowserContext;
let ui: string;
/** Mallory's page on another port of the router's host: `?cookie=` planted, then off to `?go=`. */
let tosser: Server;
let tosserUrl: string;

beforeAll(async () => {
  const root = defaultWebUiRoot({});
  if (!existsSync(join(root, 'index.html')))
    throw new Error('the web UI is not built: run `npm run build -w @agenttier/web` (scripts/test.sh does)');
  bed = await startOidcTestbed({
    signingKey: await newSigningKey('ES256', 'web-ui-1'),
    accounts: {
      carol: { email: 'carol@example.test', groups: [] },
      mallory: { email: 'mallory@example.test', groups: [] },
    },
    deps: { webUi: { root } },
  });
  ({ idp, url: ui } = bed);
  tosser = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        `<script>document.cookie = ${JSON.stringify(q.get('cookie') ?? '')}; location = ${JSON.stringify(q.get('go') ?? '/')};</script>`,
      );
  });
  tosserUrl = `http://localhost:${await listenOnLoopback(tosser)}`; // the router's host name
  browser = await launchChromium({ hostResolverRules: LOOPBACK_ONLY_RESOLVER });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await closeServer(tosser);
  await bed?.close();
});

beforeEach(async () => {
  context = await browser.newContext();
  // Loopback only: the provider's sign-in page links a web font, which must not be fetched.
  await context.route('**/*', async (route) => {
    const host = new URL(route.request().url()).hostname;
    await (host === 'localhost' || host === '127.0.0.1' ? route.continue() : route.abort());
  });
});

afterEach(async () => {
  await context.close();
});

/** Waits until the UI decided (sign-in screen or someone signed in); returns who is signed in. */
async function signedInAs(page: Page): Promise<string[]> {
  await page.locator('#login-title, [data-testid="identity"]').first().waitFor({ timeout: WAIT_MS });
  return page.getByTestId('identity').allInnerTexts();
}

describe('OIDC login from the web UI', () => {
  it('the UI starts the login with its binding and comes back signed in', async () => {
    const page = await context.newPage();
    await page.goto(`${ui}/`);
    expect(await signedInAs(page)).toEqual([]);
    await page.getByRole('link', { name: 'Sign in with your organisation (OIDC)' }).click();
    await page.waitForURL((u) => u.href.startsWith(idp.issuer), { timeout: WAIT_MS });
    await page.fill('input[name=login]', 'carol');
    await page.fill('input[name=password]', 'anything');
    await page.click('button[type=submit]');
    await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached' });
    const me = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/user/me' && r.ok(), {
      timeout: WAIT_MS,
    });
    await page.click('button[type=submit]'); // consent
    expect(await signedInAs(page)).toEqual([expect.stringContaining('carol')]);
    const binding = await page.evaluate(() => localStorage.getItem('agenttier.sessionBinding'));
    expect(binding).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await (await me).request().headerValue(SESSION_BINDING_HEADER)).toBe(binding);
  });

  it('Mallory’s login walked through by a page on another port leaves the UI signed out, not Mallory', async () => {
    // Mallory starts a login with her own binding, signs in at the provider as herself, and keeps the
    // callback URL and the login's binder cookie instead of using them.
    const start = await fetch(`${ui}/api/v1/auth/oidc/login?binding=${'m'.repeat(43)}`, {
      redirect: 'manual',
    });
    expect(start.status).toBe(302);
    const binder = start.headers
      .getSetCookie()
      .find((c) => c.startsWith('agenttier_oidc='))!
      .split(';')[0]!;
    const callback = await loginAtProvider(
      start.headers.get('location')!,
      'mallory',
      `${ui}/api/v1/auth/oidc/callback`,
    );

    const page = await context.newPage();
    const planted = `${binder}; Path=/api/v1/auth/oidc/callback`;
    await page.goto(`${tosserUrl}/?${new URLSearchParams({ cookie: planted, go: callback }).toString()}`);
    await page.waitForURL(`${ui}/`, { timeout: WAIT_MS });
    // The callback took the planted binder: the victim's browser now holds Mallory's session cookie ...
    const cookies = await context.cookies(`${ui}/api/v1/user/me`);
    expect(cookies.filter((c) => c.name === 'agenttier_session')).toHaveLength(1);
    // ... which the UI cannot use: it holds no binding of Mallory's login.
    expect(await signedInAs(page)).toEqual([]);
    expect(await page.content()).not.toContain('mallory');
    expect(await page.evaluate(async () => (await fetch('/api/v1/user/me')).status)).toBe(401);
  });
});
