/**
 * Signing in to the web UI on a platform with API keys on (no development identity), in real
 * Chromium: a wrong key is refused with what to do, the right one becomes an HttpOnly session cookie
 * (the key is kept nowhere the page's scripts could read it later), a reload stays signed in, and
 * signing out ends the session on the server.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestPlatform, stopTestPlatform } from '@agenttier/local/testing';
import type { TestPlatform } from '@agenttier/local/testing';
import { DESKTOP, launchChromium, screenshot, seriousAxeViolations } from '../testing/browser.ts';

let platform: TestPlatform;
let browser: Browser;
let page: Page;
let adminKey: string;

beforeAll(async () => {
  if (!existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.html')))
    throw new Error('the web UI is not built: run `npm run build -w @agenttier/web` (scripts/test.sh does)');
  platform = await startTestPlatform({ devAuth: false, sandboxd: false });
  adminKey = (await platform.ensureAdminKey()).key;
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stopTestPlatform(platform);
}, 300_000);

describe('web UI sign-in', () => {
  it('asks for a key, and refuses a wrong one with what to do', async () => {
    await page.goto(`${platform.url}/templates`);
    await page.getByRole('heading', { name: 'Sign in to AgentTier' }).waitFor();
    await screenshot(page, 'login');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByLabel('API key').fill('atk_' + 'x'.repeat(43));
    await page.getByRole('button', { name: 'Sign in with API key' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/create a new one/);
  });

  it('swaps the right key for an HttpOnly session cookie, and keeps nothing readable', async () => {
    await page.getByLabel('API key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in with API key' }).click();
    await page.getByTestId('identity').waitFor();
    expect(await page.getByTestId('identity').innerText()).toContain('admin');
    // The page asked for /templates before signing in and is still there.
    await page.getByRole('heading', { name: 'Templates' }).waitFor();
    const readable = await page.evaluate(() => ({
      cookie: document.cookie,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      html: document.documentElement.outerHTML,
    }));
    for (const v of Object.values(readable)) expect(v).not.toContain(adminKey);
    expect(readable.cookie).toBe(''); // HttpOnly: invisible to scripts
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'agenttier_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
  });

  it('stays signed in across a reload (the cookie, not the page, holds the sign-in)', async () => {
    await page.reload();
    await page.getByTestId('identity').waitFor();
    await page.getByRole('heading', { name: 'Templates' }).waitFor();
  });

  it('signs out: the session ends on the server, not just in the page', async () => {
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'agenttier_session');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to AgentTier' }).waitFor();
    expect(await page.getByRole('status').innerText()).toContain('Signed out');
    // The old cookie, replayed, no longer works.
    const r = await fetch(`${platform.url}/api/v1/user/me`, {
      headers: { cookie: `agenttier_session=${cookie!.value}` },
    });
    expect(r.status).toBe(401);
  });
});
