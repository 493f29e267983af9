/**
 * Resource use on the dashboard and the Events tab, end to end: real Chromium against a real local
 * platform on the real engine. A running sandbox shows CPU and memory meters (its own cgroup's limit
 * in words), a busy loop moves the CPU meter, a stopped sandbox shows none and is never asked about,
 * and the Events tab follows a stop and a resume without a reload. axe-core on both screens; the tab at
 * 390 px without sideways scrolling. Screenshots: artifacts/web-ui/dashboard-usage.png, tab-events*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  api,
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  waitForPhase,
} from '@agenttier/local/testing';
import type { TestPlatform } from '@agenttier/local/testing';
import { DESKTOP, launchChromium, PHONE, screenshot, seriousAxeViolations } from '../testing/browser.ts';
import { E2E_WAIT_MS, requireBuiltUi } from '../testing/browser.ts';

const WAIT_MS = E2E_WAIT_MS;
const BOX = 'meter-web';
const ns = testNamespace('webuse');
const q = `?namespace=${ns}`;

let platform: TestPlatform;
let browser: Browser;
let page: Page;
/** Every usage request the page made, as `name` (from `/api/v1/sandboxes/{name}/usage`). */
const usageAsked: string[] = [];
let listPolls = 0;

beforeAll(async () => {
  requireBuiltUi();
  platform = await startTestPlatform();
  const r = await api(platform.url, 'POST', '/api/v1/sandboxes', {
    name: BOX,
    namespace: ns,
    template: 'minimal-shell',
    resources: { limits: { cpu: '1', memory: '512Mi' } },
  });
  expect(r.status, r.text).toBe(201);
  await waitForPhase(platform.url, ns, BOX, 'Running', WAIT_MS);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  page.on('request', (req) => {
    const path = new URL(req.url()).pathname;
    const m = /^\/api\/v1\/sandboxes\/([^/]+)\/usage$/.exec(path);
    if (m) usageAsked.push(m[1]!);
    if (path === '/api/v1/sandboxes') listPolls++;
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stopTestPlatform(platform, { namespace: ns });
}, 300_000);

const row = () => page.locator(`[data-usage-of="${BOX}"]`);

describe('resource use on the dashboard', () => {
  it('shows CPU and memory meters of a running sandbox, with its own limits in words', async () => {
    await page.goto(platform.url);
    await row().locator('meter').nth(1).waitFor({ timeout: WAIT_MS });
    await expect.poll(() => row().locator('meter').count()).toBe(2);
    expect(await row().locator('[data-usage="memory"]').innerText()).toMatch(/of 512 MiB/);
    expect(await row().locator('[data-usage="cpu"]').innerText()).toMatch(/% of 1 CPU/);
    expect(await row().locator('meter[aria-label^="Memory of meter-web"]').count()).toBe(1);
    await screenshot(page, 'dashboard-usage');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('moves the CPU meter when the sandbox is busy', async () => {
    const started = await api(platform.url, 'POST', `/api/v1/sandboxes/${BOX}/processes${q}`, {
      command: ['sh', '-c', 'while :; do :; done'],
      timeout: 120,
    });
    expect(started.status, started.text).toBe(201);
    try {
      await page.waitForFunction(
        (name) =>
          Number(
            (
              document.querySelector(
                `[data-usage-of="${name}"] [data-usage="cpu"] meter`,
              ) as HTMLMeterElement | null
            )?.value ?? 0,
          ) > 0.1,
        BOX,
        { timeout: WAIT_MS },
      );
    } finally {
      await api(platform.url, 'DELETE', `/api/v1/sandboxes/${BOX}/processes/${started.json.id}${q}`);
    }
  });
});

describe('the Events tab', () => {
  it('lists what happened, newest first, and follows a stop and a resume without a reload', async () => {
    await page.goto(`${platform.url}/sandboxes/${ns}/${BOX}/events`);
    await page.locator('tr[data-reason="Running"]').first().waitFor({ timeout: WAIT_MS });
    const reasons = () =>
      page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-reason')));
    expect(await reasons()).toEqual(['Running', 'Created', 'Provisioned']);
    await screenshot(page, 'tab-events');
    expect(await seriousAxeViolations(page)).toEqual([]);

    expect((await api(platform.url, 'POST', `/api/v1/sandboxes/${BOX}/stop${q}`)).status).toBe(200);
    await page.locator('tr[data-reason="Stopped"]').waitFor({ timeout: WAIT_MS });
    expect((await api(platform.url, 'POST', `/api/v1/sandboxes/${BOX}/resume${q}`)).status).toBe(200);
    await page.waitForFunction(
      () => document.querySelectorAll('tbody tr[data-reason="Running"]').length === 2,
      null,
      {
        timeout: WAIT_MS,
      },
    );
    expect((await reasons()).slice(0, 4)).toEqual(['Running', 'Created', 'Stopped', 'Removed']);

    await page.setViewportSize(PHONE);
    await page.locator('tr[data-reason="Stopped"]').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(page, 'tab-events-phone');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.setViewportSize(DESKTOP);
  });

  it('a stopped sandbox shows no meters and its usage is never asked for', async () => {
    expect((await api(platform.url, 'POST', `/api/v1/sandboxes/${BOX}/stop${q}`)).status).toBe(200);
    await waitForPhase(platform.url, ns, BOX, 'Stopped', WAIT_MS);
    await page.goto(platform.url);
    await page.locator(`tr[data-sandbox="${BOX}"][data-phase="Stopped"]`).waitFor({ timeout: WAIT_MS });
    usageAsked.length = 0;
    const polls = listPolls;
    // Three list refreshes later (the page re-reads the list every second), still nothing asked.
    await page.waitForFunction(() => true, null, { polling: 100 });
    await expect.poll(() => listPolls - polls, { timeout: WAIT_MS }).toBeGreaterThanOrEqual(3);
    expect(await row().locator('meter').count()).toBe(0);
    expect(usageAsked.filter((n) => n === BOX)).toEqual([]);
  });
});
