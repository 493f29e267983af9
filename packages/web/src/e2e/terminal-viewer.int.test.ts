/**
 * A viewer's Terminal tab in real Chromium against a real local platform with API keys: the page says
 * "Read-only", offers no new session or paste, shows the owner's shell, and what the viewer types
 * never reaches it (the router drops it: routes/terminal-read-only.attack.test.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Browser } from 'playwright-core';
import { eventually } from '@agenttier/testkit';
import { startTestPlatform, stopTestPlatform, testNamespace } from '@agenttier/local/testing';
import type { TestPlatform } from '@agenttier/local/testing';
import { DESKTOP, launchChromium } from '../testing/browser.ts';

const DIST = join(import.meta.dirname, '..', '..', 'dist', 'index.html');
const ns = testNamespace('webview');
let platform: TestPlatform;
let browser: Browser;
let admin: string;
let vera: string;

async function call(key: string, method: string, path: string, body?: unknown) {
  const r = await fetch(`${platform.url}${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: (await r.json().catch(() => ({}))) as Record<string, unknown> };
}

beforeAll(async () => {
  if (!existsSync(DIST))
    throw new Error('the web UI is not built: run `npm run build -w @agenttier/web` (scripts/test.sh does)');
  platform = await startTestPlatform({ devAuth: false });
  admin = (await platform.ensureAdminKey()).key;
  const created = await call(admin, 'POST', '/api/v1/sandboxes', {
    name: 'vbox',
    namespace: ns,
    templateRef: { name: 'general-coding' },
  });
  expect(created.status).toBe(201);
  await eventually(
    async () => (await call(admin, 'GET', `/api/v1/sandboxes/vbox?namespace=${ns}`)).json.phase === 'Running',
    'the sandbox running',
    120_000,
  );
  vera = (await call(admin, 'POST', '/api/v1/user/api-keys', { name: 'vera', user: { id: 'vera' } })).json
    .key as string;
  const share = await call(admin, 'PUT', `/api/v1/sandboxes/vbox/shares/vera?namespace=${ns}`, {
    role: 'viewer',
  });
  expect(share.status).toBe(200);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stopTestPlatform(platform, { namespace: ns });
});

describe('the Terminal tab for a viewer', () => {
  it('shows the owner’s shell read-only; typing reaches nothing', async () => {
    const owner = new WebSocket(
      `${platform.url.replace('http', 'ws')}/ws/terminal/vbox?namespace=${ns}&session=main`,
      { headers: { 'x-api-key': admin } },
    );
    await new Promise((resolve, reject) => {
      owner.once('open', resolve);
      owner.once('error', reject);
    });
    owner.send(JSON.stringify({ type: 'input', data: 'echo hello-from-$((6*7))-owner\r' }));
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(platform.url);
    // Signed in as the web UI is: the session's binding kept in the origin's storage.
    const login = await page.evaluate(async (key) => {
      const r = await fetch('/api/v1/auth/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: key }),
      });
      localStorage.setItem('agenttier.sessionBinding', ((await r.json()) as { binding: string }).binding);
      return r.status;
    }, vera);
    expect(login).toBe(201);
    await page.goto(`${platform.url}/sandboxes/${ns}/vbox/terminal`);
    const screen = () => page.locator('.xterm-rows').innerText();
    await eventually(
      async () => (await screen()).includes('hello-from-42-owner'),
      'the owner’s output',
      60_000,
    );
    expect(await page.locator('[data-terminal-mode="read-only"]').innerText()).toMatch(/^Read-only\./);
    expect(await page.locator('form[aria-label="New terminal session"]').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Paste' }).count()).toBe(0);
    await page.locator('.xterm').click();
    await page.keyboard.type('echo typed-by-$((5*5))-viewer\n');
    // The owner's next line shows up after anything the viewer's keys could have done.
    owner.send(JSON.stringify({ type: 'input', data: 'echo after-$((7*7))\r' }));
    await eventually(async () => (await screen()).includes('after-49'), 'the owner’s next line', 60_000);
    expect(await screen()).not.toContain('typed-by');
    owner.close();
    await page.close();
  }, 120_000);
});
