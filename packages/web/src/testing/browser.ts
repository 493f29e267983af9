/**
 * E2E support: Debian's Chromium through playwright-core, screenshots under artifacts/web-ui/, and
 * axe-core run inside the page.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

const ROOT = join(import.meta.dirname, '../../../..');
/** Where screenshots go (git-ignored; CI keeps the folder as artifacts). docs/web-ui.md links them. */
export const SCREENSHOT_DIR = join(ROOT, 'artifacts', 'web-ui');

export const DESKTOP = { width: 1280, height: 800 };
/** How long an e2e step waits for the real platform (container starts on a loaded machine). */
export const E2E_WAIT_MS = 120_000;

/** Stops an e2e suite early, with the command, when the UI it drives was not built. */
export function requireBuiltUi(): void {
  if (!existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.html')))
    throw new Error('the web UI is not built: run `npm run build -w @agenttier/web` (scripts/test.sh does)');
}
export const PHONE = { width: 390, height: 844 };

export { launchChromium } from '@agenttier/testkit/browser';

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * Runs axe-core in the page and returns the serious and critical violations. The script is evaluated
 * over the DevTools protocol, which the page's CSP does not govern (it would refuse an injected tag).
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<unknown> } }
    ).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  const violations = (result as { violations: AxeViolation[] }).violations;
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
}
