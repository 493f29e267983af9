/**
 * Session fixation by cookie tossing, against the real web UI in real Chromium (red team, issue 8).
 * Cookies ignore ports: a page on another port of the router's host (a sandbox's app reached through
 * `agenttier sandbox port-forward`, any local dev server) can set `agenttier_session` for the router's
 * host. The attacker logs in with their own key, plants that valid session cookie in the victim's
 * browser, and the victim's web UI used to work as the attacker (uploading the victim's secrets into the
 * attacker's sandboxes, configuring agents with the victim's keys there). The router now takes a
 * session cookie only next to the session's binding, which the UI keeps in its own origin's storage
 * (docs/security.md, "Session binding"): the planted session leaves the UI at its sign-in screen.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SESSION_BINDING_HEADER } from '@agenttier/contract';
import { startTestPlatform, stopTestPlatform } from '@agenttier/local/testing';
import type { TestPlatform } from '@agenttier/local/testing';
import { DESKTOP, E2E_WAIT_MS, launchChromium, requireBuiltUi } from '../testing/browser.ts';

const TEN_YEARS_SEC = 315_360_000;

let platform: TestPlatform;
let browser: Browser;
let context: BrowserContext;
let adminKey: string;
/** Mallory's own, valid session: the cookie pair and the binding only her client knows. */
let mallory: { cookie: string; binding: string };
/**
 * The hostile page on another port of the router's host. `?cookie=` is planted by script
 * (`document.cookie`); `?set-cookie=` by its answer's header (which may be HttpOnly and so replaces
 * even the UI's own HttpOnly cookie: same name, host and path).
 */
let tosser: Server;
let tosserUrl: string;
/** What the router answered the victim's page on `/api/v1/user/me`. */
let meStatuses: number[];

beforeAll(async () => {
  requireBuiltUi();
  platform = await startTestPlatform({ devAuth: false });
  adminKey = (await platform.ensureAdminKey()).key;
  const issued = await fetch(`${platform.url}/api/v1/user/api-keys`, {
    method: 'POST',
    headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'mallory', user: { id: 'mallory' } }),
  });
  expect(issued.status, await issued.clone().text()).toBe(201);
  const malloryKey = ((await issued.json()) as { key: string }).key;
  // Mallory logs in as herself, outside any browser: the router hands her a session cookie.
  const login = await fetch(`${platform.url}/api/v1/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: malloryKey }),
  });
  expect(login.status).toBe(201);
  mallory = {
    cookie: login.headers.getSetCookie()[0]!.split(';')[0]!,
    binding: ((await login.json()) as { binding: string }).binding,
  };
  expect(mallory.cookie).toMatch(/^agenttier_session=[A-Za-z0-9_-]{43}$/);

  tosser = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const headers: Record<string, string> = { 'content-type': 'text/html' };
    if (q.has('set-cookie')) headers['set-cookie'] = q.get('set-cookie')!;
    const script = q.has('cookie') ? `document.cookie = ${JSON.stringify(q.get('cookie'))};` : '';
    res.writeHead(200, headers).end(`<script>${script} window.result = 'planted';</script>`);
  });
  await new Promise<void>((r) => tosser.listen(0, '127.0.0.1', r));
  // The router's own host name, another port: same site, same cookie jar.
  tosserUrl = `http://${new URL(platform.url).hostname}:${(tosser.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  tosser?.closeAllConnections();
  await new Promise((r) => tosser?.close(r));
  await stopTestPlatform(platform);
}, 300_000);

beforeEach(async () => {
  context = await browser.newContext({ viewport: DESKTOP });
  meStatuses = [];
  context.on('response', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/user/me') meStatuses.push(r.status());
  });
});

afterEach(async () => {
  await context.close();
});

/** Opens the hostile page, which plants what its query says. */
async function plant(query: Record<string, string>): Promise<void> {
  const page = await context.newPage();
  await page.goto(`${tosserUrl}/?${new URLSearchParams(query).toString()}`);
  expect(await page.evaluate('window.result')).toBe('planted');
  await page.close();
}

/** The session cookie values the browser sends to the router. */
async function sessionCookies(): Promise<string[]> {
  return (await context.cookies(`${platform.url}/api/v1/user/me`))
    .filter((c) => c.name === 'agenttier_session')
    .map((c) => `${c.name}=${c.value}`);
}

/** Waits until the UI decided (sign-in screen or someone signed in), then wants the sign-in screen. */
async function expectSignInScreen(page: Page): Promise<void> {
  await page.locator('#login-title, [data-testid="identity"]').first().waitFor({ timeout: E2E_WAIT_MS });
  const signedInAs = await page.getByTestId('identity').allInnerTexts();
  expect(signedInAs).toEqual([]); // without the binding check: ['mallory']
  expect(await page.getByRole('heading', { name: 'Sign in to AgentTier' }).count()).toBe(1);
  expect(await page.content()).not.toContain('mallory');
}

describe('a page on another port plants the attacker’s valid session cookie', () => {
  it('the planted session is real: with its binding (which only Mallory has) it is Mallory', async () => {
    const me = await fetch(`${platform.url}/api/v1/user/me`, {
      headers: { cookie: mallory.cookie, [SESSION_BINDING_HEADER]: mallory.binding },
    });
    expect(await me.json()).toMatchObject({ id: 'mallory', authMethod: 'session' });
  });

  it('victim signed out: the UI does not work as Mallory, it asks the victim to sign in', async () => {
    await plant({ cookie: `${mallory.cookie}; Path=/; Max-Age=${TEN_YEARS_SEC}` });
    expect(await sessionCookies()).toEqual([mallory.cookie]); // the browser sends it to the router
    const ui = await context.newPage();
    await ui.goto(`${platform.url}/`);
    await expectSignInScreen(ui);
    expect(meStatuses).toContain(401);
    expect(meStatuses).not.toContain(200);
    // A page script of the UI's origin calling the API as the UI would (no binding kept): refused too.
    const status = await ui.evaluate(async () => (await fetch('/api/v1/user/me')).status);
    expect(status).toBe(401);
  });

  it('victim signed in: an HttpOnly cookie from the other port replaces hers, and the UI signs her out, not in as Mallory', async () => {
    const ui = await context.newPage();
    await ui.goto(`${platform.url}/`);
    await ui.getByLabel('API key').fill(adminKey);
    await ui.getByRole('button', { name: 'Sign in with API key' }).click();
    await ui.getByTestId('identity').waitFor({ timeout: E2E_WAIT_MS });
    expect(await ui.getByTestId('identity').innerText()).toContain('admin');

    await plant({ 'set-cookie': `${mallory.cookie}; Path=/; HttpOnly; Max-Age=${TEN_YEARS_SEC}` });
    expect(await sessionCookies()).toEqual([mallory.cookie]); // hers is gone: only Mallory's is sent
    meStatuses = [];
    await ui.reload();
    await expectSignInScreen(ui);
    expect(meStatuses).not.toContain(200);

    // Signing in again works, and the UI is the victim's own again.
    await ui.getByLabel('API key').fill(adminKey);
    await ui.getByRole('button', { name: 'Sign in with API key' }).click();
    await ui.getByTestId('identity').waitFor({ timeout: E2E_WAIT_MS });
    expect(await ui.getByTestId('identity').innerText()).toContain('admin');
    expect(await sessionCookies()).not.toContain(mallory.cookie);
  });
});
