/**
 * The web UI with API keys on (no development identity), end to end in real Chromium on the real
 * engine: sign in with a key on the login screen (it becomes an HttpOnly session cookie), the
 * terminal attaches with that cookie on its WebSocket, a preview opens through a single-use preview
 * link, and signing out ends the session: the next API call is 401 and the UI shows the login screen.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestPlatform, stopTestPlatform, testNamespace } from '@agenttier/local/testing';
import type { TestPlatform } from '@agenttier/local/testing';
import { eventually } from '@agenttier/testkit';
import { WebSocket } from 'ws';
import { DESKTOP, launchChromium } from '../testing/browser.ts';

const WAIT_MS = 120_000;
const NAME = 'key-web';

let platform: TestPlatform;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let adminKey: string;
/** The page's terminal WebSocket address and its session cookie, replayed from outside the browser. */
let terminalUrl: string;
let sessionCookie: string;
/** The subprotocols that carry the session binding the page keeps (what the UI's WebSocket offers). */
let bound: string[];
const ns = testNamespace('keyweb');

const tabUrl = (tab: string) => `${platform.url}/sandboxes/${ns}/${NAME}/${tab}`;

/** Opens a WebSocket from Node with the given headers: the HTTP status that refused it, or 101. */
function handshake(url: string, headers: Record<string, string>, protocols: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** The API with the admin key (test setup only; the browser never gets the key except by typing it). */
async function withKey(method: string, path: string, body?: string | object): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${adminKey}` };
  if (body !== undefined && typeof body !== 'string') headers['content-type'] = 'application/json';
  return fetch(`${platform.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

beforeAll(async () => {
  if (!existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.html')))
    throw new Error('the web UI is not built: run `npm run build -w @agenttier/web` (scripts/test.sh does)');
  platform = await startTestPlatform({ devAuth: false });
  adminKey = (await platform.ensureAdminKey()).key;
  const created = await withKey('POST', '/api/v1/sandboxes', {
    name: NAME,
    namespace: ns,
    templateRef: { name: 'general-coding' },
  });
  expect(created.status, await created.text()).toBe(201);
  await eventually(
    async () => {
      const r = await withKey('GET', `/api/v1/sandboxes/${NAME}?namespace=${ns}`);
      return r.ok && ((await r.json()) as { status?: string }).status === 'Running';
    },
    'the sandbox running',
    WAIT_MS,
  );
  const put = await withKey(
    'PUT',
    `/api/v1/sandboxes/${NAME}/files/workspace/site/index.html?namespace=${ns}`,
    '<!doctype html><title>preview</title><h1 id="msg">served under key auth</h1>',
  );
  expect(put.status, await put.text()).toBeLessThan(300);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: DESKTOP });
  page = await context.newPage();
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await stopTestPlatform(platform, { namespace: ns });
}, 300_000);

describe('web UI with API keys on', () => {
  it('signs in with a key on the login screen and the terminal attaches with the session cookie', async () => {
    await page.goto(tabUrl('terminal'));
    await page.getByRole('heading', { name: 'Sign in to AgentTier' }).waitFor();
    await page.getByLabel('API key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in with API key' }).click();
    await page.getByTestId('identity').waitFor();
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'agenttier_session')).toMatchObject({ httpOnly: true });

    const socket = page.waitForEvent('websocket', { predicate: (ws) => /\/ws\/terminal\//.test(ws.url()) });
    await page.locator('[data-status="connected"]').waitFor({ timeout: WAIT_MS });
    terminalUrl = (await socket).url();
    expect(terminalUrl).not.toContain(adminKey); // the key is not smuggled into the URL
    sessionCookie = `agenttier_session=${cookies.find((c) => c.name === 'agenttier_session')!.value}`;
    // The cookie is what let the socket in: without it, or from another origin, the handshake is refused.
    const origin = new URL(platform.url).origin;
    const wsUrl = terminalUrl.replace('session=main', 'session=probe'); // not the page's own shell
    const binding = await page.evaluate(() => localStorage.getItem('agenttier.sessionBinding'));
    expect(binding).toMatch(/^[A-Za-z0-9_-]{43}$/);
    bound = ['agenttier', `agenttier.binding.${binding}`];
    expect(await handshake(wsUrl, { cookie: sessionCookie, origin }, bound)).toBe(101);
    expect(await handshake(wsUrl, { origin })).toBe(401);
    // The cookie without the page's binding (a cookie planted from another port has none): refused.
    expect(await handshake(wsUrl, { cookie: sessionCookie, origin })).toBe(401);
    expect(await handshake(wsUrl, { cookie: sessionCookie, origin: 'http://evil.localhost:1' }, bound)).toBe(
      403,
    );
    await page.locator('.xterm').click();
    await page.keyboard.type('echo key-session-$((40+2))\n');
    await page.waitForFunction(
      () =>
        (document.querySelector('.xterm-rows') as HTMLElement | null)?.innerText.includes('key-session-42'),
      undefined,
      { timeout: WAIT_MS },
    );
  });

  it('opens a preview through a single-use preview link', async () => {
    await page.goto(tabUrl('processes'));
    await page.getByLabel('Command').fill('python3 -u -m http.server 8000 --directory /workspace/site');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('pre.sbx-log', { hasText: 'Serving HTTP' }).waitFor({ timeout: WAIT_MS });
    await page.goto(tabUrl('ports'));
    await page.getByLabel('Port', { exact: true }).fill('8000');
    await page.getByRole('button', { name: 'Forward' }).click();
    await page
      .locator('tr', { hasText: '8000' })
      .locator('td', { hasText: /^yes$/ })
      .waitFor({ timeout: WAIT_MS });
    const minted = page.waitForResponse((r) => /\/ports\/8000\/preview-link/.test(r.url()));
    const [preview] = await Promise.all([
      context.waitForEvent('page'),
      page.getByRole('button', { name: 'Open preview of port 8000 (new tab)' }).click(),
    ]);
    expect((await minted).status()).toBeLessThan(300);
    await preview.locator('#msg', { hasText: 'served under key auth' }).waitFor({ timeout: WAIT_MS });
    expect(new URL(preview.url()).hostname).toBe(`8000-${NAME}--${ns}.localhost`);
    await preview.close();
  });

  it('signs out: the next API call is 401 and the UI shows the login screen', async () => {
    await page.goto(tabUrl('terminal'));
    await page.getByTestId('identity').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to AgentTier' }).waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/v1/user/me')).status);
    expect(status).toBe(401);
    expect(await page.evaluate(() => localStorage.getItem('agenttier.sessionBinding'))).toBeNull();
    // A copy of the old cookie no longer attaches a terminal either.
    expect(
      await handshake(
        terminalUrl.replace('session=main', 'session=probe'),
        { cookie: sessionCookie, origin: new URL(platform.url).origin },
        bound,
      ),
    ).toBe(401);
    await page.goto(tabUrl('terminal'));
    await page.getByRole('heading', { name: 'Sign in to AgentTier' }).waitFor();
    expect(await page.locator('.xterm').count()).toBe(0);
  });
});
