/**
 * The web UI end to end: real Chromium against a real local platform on the real engine, the UI
 * built by `npm run build -w @agenttier/web` and served by the router at `/`. Each main screen is
 * screenshotted (artifacts/web-ui/, see docs/web-ui.md) and checked with axe-core.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { api, startTestPlatform, stopTestPlatform, testNamespace } from '@agenttier/local/testing';
import type { TestPlatform } from '@agenttier/local/testing';
import { DESKTOP, launchChromium, PHONE, screenshot, seriousAxeViolations } from '../testing/browser.ts';

const DIST = join(import.meta.dirname, '..', '..', 'dist', 'index.html');
const TEMPLATE = 'minimal-shell';
const WAIT_MS = 120_000;

let platform: TestPlatform;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const ns = testNamespace('webui');

beforeAll(async () => {
  if (!existsSync(DIST))
    throw new Error('the web UI is not built: run `npm run build -w @agenttier/web` (scripts/test.sh does)');
  platform = await startTestPlatform();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: DESKTOP });
  page = await context.newPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stopTestPlatform(platform, { namespace: ns });
}, 300_000);

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
const row = (name: string) => page.locator(`tr[data-sandbox="${name}"]`);
async function phaseOf(name: string, phase: string): Promise<void> {
  await page.locator(`tr[data-sandbox="${name}"][data-phase="${phase}"]`).waitFor({ timeout: WAIT_MS });
}

describe('web UI', () => {
  it('shows the dashboard with the signed-in identity and the first step', async () => {
    await page.goto(`${platform.url}/`);
    await page.getByTestId('identity').waitFor();
    expect(await page.getByTestId('identity').innerText()).toContain('Dev User');
    await page.getByRole('heading', { name: 'No sandboxes yet' }).waitFor();
    await screenshot(page, 'dashboard-empty');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('creates a sandbox from a template and shows it Running', async () => {
    await page.getByRole('link', { name: 'Create your first sandbox' }).click();
    await page.getByRole('radio', { name: new RegExp(TEMPLATE) }).check();
    // Live validation with the server's rules, before anything is sent.
    await page.getByLabel('Name', { exact: true }).fill('Bad_Name');
    await page.getByText(/must be lowercase letters/).waitFor();
    await page.getByLabel('Namespace').fill(ns);
    await page.getByLabel('Name', { exact: true }).fill('ui-made');
    await screenshot(page, 'create');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create sandbox' }).click();
    // The page follows the sandbox until Running, then opens it.
    await page.getByRole('heading', { name: 'ui-made' }).waitFor({ timeout: WAIT_MS });
    await page.locator('.phase', { hasText: 'Running' }).first().waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'sandbox-overview');
    expect(await seriousAxeViolations(page)).toEqual([]);
    const r = await api(platform.url, 'GET', `/api/v1/sandboxes/ui-made?namespace=${ns}`);
    expect(r.json.phase).toBe('Running');
  });

  it("shows the server's refusal in words, on the field, with what to do next", async () => {
    await page.goto(`${platform.url}/new`);
    await page.getByRole('radio', { name: new RegExp(TEMPLATE) }).check();
    await page.getByLabel('Name', { exact: true }).fill('too-big');
    await page.getByLabel('Namespace').fill(ns);
    await page.locator('summary', { hasText: 'Overrides' }).click();
    // Valid for the schema (at least 16Mi), more than this machine has: only the server knows.
    await page.getByLabel('Memory limit').fill('100000Gi');
    await page.getByRole('button', { name: 'Create sandbox' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'What to do' });
    await alert.waitFor({ timeout: WAIT_MS });
    expect(await alert.innerText()).toMatch(/memory/i);
    await page.locator('#memory[aria-invalid="true"]').waitFor();
    await screenshot(page, 'create-error');
    expect((await api(platform.url, 'GET', `/api/v1/sandboxes/too-big?namespace=${ns}`)).status).toBe(404);
  });

  it('notices a sandbox created and one deleted by the API meanwhile', async () => {
    await nav('Dashboard').click();
    await phaseOf('ui-made', 'Running');
    const created = await api(platform.url, 'POST', '/api/v1/sandboxes', {
      name: 'api-made',
      namespace: ns,
      templateRef: { name: TEMPLATE },
    });
    expect(created.status).toBe(201);
    await row('api-made').waitFor({ timeout: WAIT_MS });
    await phaseOf('api-made', 'Running');
    await screenshot(page, 'dashboard');
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect((await api(platform.url, 'DELETE', `/api/v1/sandboxes/api-made?namespace=${ns}`)).status).toBe(
      204,
    );
    await row('api-made').waitFor({ state: 'detached', timeout: WAIT_MS });
  });

  it('stops and resumes a sandbox from its row', async () => {
    await page.getByRole('button', { name: 'Stop ui-made' }).click();
    await phaseOf('ui-made', 'Stopped');
    await page.getByRole('button', { name: 'Resume ui-made' }).click();
    await phaseOf('ui-made', 'Running');
  });

  it('filters and searches', async () => {
    await page.getByLabel('Search').fill('no-such-sandbox');
    await page.getByText('No sandbox matches these filters.').waitFor();
    await page.getByLabel('Search').fill('ui-');
    await row('ui-made').waitFor();
    await page.getByLabel('Phase').selectOption('Running');
    await row('ui-made').waitFor();
    await page.getByLabel('Search').fill('');
  });

  it('lays the dashboard out for a 390-px phone', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize(PHONE);
    await phone.goto(`${platform.url}/`);
    await phone.locator('tr[data-sandbox="ui-made"]').waitFor();
    // Nothing wider than the screen: no sideways scrolling of the page.
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(phone, 'dashboard-phone');
    expect(await seriousAxeViolations(phone)).toEqual([]);
    await phone.close();
  });

  it('shows server-side template validation errors on the offending line', async () => {
    await nav('Templates').click();
    await page.locator(`tr[data-template="${TEMPLATE}"]`).waitFor();
    await screenshot(page, 'templates');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'New template' }).click();
    const editor = page.locator('.cm-content');
    await editor.waitFor();
    // Replace the starter with a template whose cpu the server refuses.
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // One input of the whole text (typing line by line would auto-indent each new line).
    await page.keyboard.insertText(
      'name: e2e-bad\nspec:\n  description: broken on purpose\n  resources:\n    limits:\n      cpu: lots\n',
    );
    // The editor is styled (its theme passed the page's CSP with the nonce): a line-number gutter.
    expect(await page.locator('.cm-gutters').evaluate((el) => getComputedStyle(el).display)).toBe('flex');
    await page.getByRole('button', { name: 'Create template' }).click();
    const problem = page.locator('.problems li', { hasText: 'spec.resources.limits.cpu' });
    await problem.waitFor({ timeout: WAIT_MS });
    expect(await problem.innerText()).toMatch(/^Line 6: /);
    // The diagnostic sits in the editor too, on that line.
    await page.locator('.cm-lintRange-error').first().waitFor();
    await screenshot(page, 'template-editor-error');
    const r = await api(platform.url, 'GET', '/api/v1/templates/e2e-bad');
    expect(r.status).toBe(404);
  });

  it('refuses to delete a template in use, naming the sandbox', async () => {
    await nav('Templates').click();
    await page.getByRole('button', { name: `Delete template ${TEMPLATE}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete template' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Could not delete' });
    await alert.waitFor({ timeout: WAIT_MS });
    expect(await alert.innerText()).toContain('ui-made');
    expect((await api(platform.url, 'GET', `/api/v1/templates/${TEMPLATE}`)).status).toBe(200);
  });

  it('is usable with the keyboard: skip link, visible focus, dialog with Escape', async () => {
    await page.goto(`${platform.url}/`);
    await row('ui-made').waitFor();
    await page.keyboard.press('Tab');
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        const style = el ? getComputedStyle(el) : undefined;
        return { text: el?.textContent ?? '', id: el?.id ?? '', outline: style?.outlineStyle ?? 'none' };
      });
    expect(await focused()).toMatchObject({ text: 'Skip to content' });
    expect((await focused()).outline).not.toBe('none');
    await page.keyboard.press('Enter');
    expect((await focused()).id).toBe('main');
    // Tab to the row's Delete button and open the dialog from the keyboard; Escape cancels.
    for (let i = 0; i < 40 && (await focused()).text !== 'Delete'; i++) await page.keyboard.press('Tab');
    expect((await focused()).text).toBe('Delete');
    expect((await focused()).outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect((await focused()).text).toBe('Cancel');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await row('ui-made').waitFor();
  });

  it('follows a dark system theme', async () => {
    const dark = await browser.newContext({ viewport: DESKTOP, colorScheme: 'dark' });
    const p = await dark.newPage();
    await p.goto(`${platform.url}/`);
    await p.locator('tr[data-sandbox="ui-made"]').waitFor();
    const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number);
    expect(r! + g! + b!).toBeLessThan(150);
    await screenshot(p, 'dashboard-dark');
    expect(await seriousAxeViolations(p)).toEqual([]);
    await dark.close();
  });

  it('shows the activity trail', async () => {
    await nav('Activity').click();
    await page
      .locator('table.audit td', { hasText: `sandbox:${ns}/ui-made` })
      .first()
      .waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'activity');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('deletes a sandbox after confirmation', async () => {
    await nav('Dashboard').click();
    await page.getByRole('button', { name: 'Delete ui-made' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await screenshot(page, 'delete-confirm');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row('ui-made').waitFor({ state: 'detached', timeout: WAIT_MS });
    await page.getByRole('heading', { name: 'No sandboxes yet' }).waitFor({ timeout: WAIT_MS });
  });
});
