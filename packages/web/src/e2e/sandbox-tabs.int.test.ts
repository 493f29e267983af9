/**
 * The sandbox page's tabs end to end: real Chromium against a real local platform on the real
 * engine, the UI built by `npm run build -w @agenttier/web` and served by the router at `/`.
 * Terminal echo → the WebSocket dropped and re-attached to the same shell → upload (drag and drop)
 * and download → a web server started in the sandbox and its preview opened → an agent configured
 * and invoked → settings → stop and resume. Each tab is screenshotted (artifacts/web-ui/, linked from
 * docs/web-ui.md) and checked with axe-core.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { api, execIn, testNamespace, waitForPhase } from '@agenttier/local/testing';
import { startTestPlatform, stopTestPlatform, type TestPlatform } from '@agenttier/local/testing';
import { DESKTOP, launchChromium, PHONE, screenshot, seriousAxeViolations } from '../testing/browser.ts';
import { E2E_WAIT_MS, requireBuiltUi } from '../testing/browser.ts';

const WAIT_MS = E2E_WAIT_MS;
const CODE = 'tabs-code';
const AGENT = 'tabs-agent';

let platform: TestPlatform;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const ns = testNamespace('webtabs');
/** The page's terminal WebSockets, routed through the test so it can cut them. */
const terminalSockets: WebSocketRoute[] = [];

const tabUrl = (name: string, tab: string) => `${platform.url}/sandboxes/${ns}/${name}/${tab}`;

/** The text xterm.js shows (its DOM renderer keeps one element per row). */
async function screenText(p: Page): Promise<string> {
  return p.locator('.xterm-rows').innerText();
}

async function expectTextOnScreen(p: Page, text: string): Promise<void> {
  await p.waitForFunction(
    (t) => (document.querySelector('.xterm-rows') as HTMLElement | null)?.innerText.includes(t) ?? false,
    text,
    { timeout: WAIT_MS },
  );
}

beforeAll(async () => {
  requireBuiltUi();
  platform = await startTestPlatform();
  for (const [name, template] of [
    [CODE, 'general-coding'],
    [AGENT, 'langgraph-agent'],
  ] as const) {
    const r = await api(platform.url, 'POST', '/api/v1/sandboxes', {
      name,
      namespace: ns,
      templateRef: { name: template },
    });
    expect(r.status, r.text).toBe(201);
  }
  await waitForPhase(platform.url, ns, CODE, 'Running', WAIT_MS);
  await waitForPhase(platform.url, ns, AGENT, 'Running', WAIT_MS);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: DESKTOP });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: platform.url });
  page = await context.newPage();
  // Pass terminal WebSockets through unchanged, keeping a handle to cut them later.
  await page.routeWebSocket(/\/ws\/terminal\//, (ws) => {
    ws.connectToServer();
    terminalSockets.push(ws);
  });
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await stopTestPlatform(platform, { namespace: ns });
}, 300_000);

describe('sandbox tabs', () => {
  it('terminal: echo round trip, then the WebSocket drops and the same shell comes back', async () => {
    await page.goto(tabUrl(CODE, 'terminal'));
    const status = page.locator('[data-status]');
    await page.locator('[data-status="connected"]').waitFor({ timeout: WAIT_MS });
    await page.locator('.xterm').click();
    await page.keyboard.type('export MARK=same-shell-$((6*7)); echo round-$((20+22))\n');
    await expectTextOnScreen(page, 'round-42');
    // xterm's own styles apply although the page's CSP drops <style> tags (adopt-inline-styles.ts).
    expect(await page.locator('.xterm-rows').evaluate((el) => getComputedStyle(el).fontSize)).toBe('14px');
    await screenshot(page, 'tab-terminal');
    expect(await seriousAxeViolations(page)).toEqual([]);

    // Cut the connection under the page (no close frame from the server): the tab re-attaches.
    expect(terminalSockets.length).toBeGreaterThan(0);
    const sockets = terminalSockets.splice(0);
    for (const ws of sockets) await ws.close({ code: 4001, reason: 'dropped by the test' });
    await page.locator('[data-status="reconnecting"], [data-status="connected"]').first().waitFor();
    await page.getByText(/Connected \(reconnected 1×\)/).waitFor({ timeout: WAIT_MS });
    expect(terminalSockets.length).toBeGreaterThan(0); // a new socket was opened
    await page.locator('.xterm').click();
    await page.keyboard.type('echo "$MARK"\n');
    await expectTextOnScreen(page, 'same-shell-42');
    expect(await status.getAttribute('data-status')).toBe('connected');
    // The screen from before the drop is shown once, not twice (the replay was trimmed).
    const screen = await screenText(page);
    expect(screen.split('round-42').length - 1).toBe(1);
  });

  it('terminal: a second named session is another shell', async () => {
    await page.getByLabel('New session').fill('build');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('tab', { name: 'build' }).waitFor();
    await page.locator('[data-status="connected"]').waitFor({ timeout: WAIT_MS });
    await page.locator('.xterm').click();
    await page.keyboard.type('echo "mark=[$MARK]"\n');
    await expectTextOnScreen(page, 'mark=[]');
    await page.getByRole('tab', { name: 'main' }).click();
    await page.locator('[data-status="connected"]').waitFor({ timeout: WAIT_MS });
    await expectTextOnScreen(page, 'same-shell-42'); // replayed on attach
    // Keyboard users can leave the terminal: with the option on, Tab moves focus instead of completing.
    const inTerminal = () =>
      page.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea'));
    await page.locator('.xterm').click();
    expect(await inTerminal()).toBe(true);
    await page.keyboard.press('Tab');
    expect(await inTerminal()).toBe(true);
    await page.getByLabel('Tab key leaves the terminal').check();
    await page.locator('.xterm').click();
    await page.keyboard.press('Tab');
    expect(await inTerminal()).toBe(false);
  });

  it('files: drop to upload with progress, download it back, zip the folder, edit and see live changes', async () => {
    await page.goto(tabUrl(CODE, 'files'));
    await page.locator('[data-watch="live"]').waitFor({ timeout: WAIT_MS });
    // A real drop: a DataTransfer holding a 3 MiB file, dropped on the tab.
    const size = 3 * 1024 * 1024;
    const dataTransfer = await page.evaluateHandle((n) => {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = i % 251;
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'dropped.bin', { type: 'application/octet-stream' }));
      return dt;
    }, size);
    await page.dispatchEvent('.sbx-files', 'dragover', { dataTransfer });
    await page.dispatchEvent('.sbx-files', 'drop', { dataTransfer });
    await page.locator('[data-upload-state="done"]').waitFor({ timeout: WAIT_MS });
    const stat = await api(
      platform.url,
      'GET',
      `/api/v1/sandboxes/${CODE}/fs/stat?namespace=${ns}&path=/workspace/dropped.bin`,
    );
    expect(stat.json.size).toBe(size);
    // The tree shows it (the upload refreshed its folder); selecting it offers its actions.
    await page.locator('[role="treeitem"][data-path="/workspace/dropped.bin"] .sbx-entry-name').click();
    await page.getByRole('button', { name: 'Download /workspace/dropped.bin' }).waitFor();

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download /workspace/dropped.bin' }).click(),
    ]);
    const saved = readFileSync((await download.path()) as string);
    expect(saved.length).toBe(size);
    expect(saved[1000]).toBe(1000 % 251);
    expect(download.suggestedFilename()).toBe('dropped.bin');

    await page.locator('[role="treeitem"][data-path="/workspace"]').focus();
    const [zip] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Zip /workspace (download as a zip file)' }).click(),
    ]);
    const zipBytes = readFileSync((await zip.path()) as string);
    expect(zipBytes.subarray(0, 2).toString()).toBe('PK');
    expect(zip.suggestedFilename()).toBe(`${CODE}-workspace.zip`);

    // A change made in the sandbox shows up without a reload (file-watch feed).
    await execIn(platform.url, ns, CODE, 'echo from-the-sandbox > /workspace/live.txt');
    await page
      .locator('[role="treeitem"][data-path="/workspace/live.txt"] .sbx-entry-name')
      .click({ timeout: WAIT_MS });
    const editor = page.locator('.cm-content');
    await editor.waitFor({ timeout: WAIT_MS });
    await page.locator('.cm-content', { hasText: 'from-the-sandbox' }).waitFor();
    // CodeMirror's styles apply under the page's CSP (the editor lives in a shadow root).
    expect(await page.locator('.cm-gutters').evaluate((el) => getComputedStyle(el).display)).toBe('flex');
    // A change made in the sandbox to the open file is flagged, and Reload shows it.
    await execIn(platform.url, ns, CODE, 'echo changed-elsewhere >> /workspace/live.txt');
    await page.getByText('This file changed in the sandbox.').waitFor({ timeout: WAIT_MS });
    await page.getByRole('button', { name: 'reload it' }).click();
    await page.locator('.cm-content', { hasText: 'changed-elsewhere' }).waitFor({ timeout: WAIT_MS });
    await editor.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('edited-in-the-browser');
    await page.keyboard.press('Control+s');
    await page.getByText(/^Saved /).waitFor({ timeout: WAIT_MS });
    const r = await execIn(platform.url, ns, CODE, 'cat /workspace/live.txt');
    expect(r.stdout).toContain('edited-in-the-browser');
    await screenshot(page, 'tab-files');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('files: the tree works from the keyboard (WAI-ARIA tree: arrows, Home/End, Enter, roving tabindex)', async () => {
    await execIn(
      platform.url,
      ns,
      CODE,
      'mkdir -p /workspace/kb/sub && echo key-note > /workspace/kb/sub/note.txt && echo a > /workspace/kb/a.txt',
    );
    await page.goto(tabUrl(CODE, 'files'));
    await page.locator('[data-watch="live"]').waitFor({ timeout: WAIT_MS });
    const tree = page.getByRole('tree', { name: 'Workspace files' });
    const W = '/workspace';
    const item = (path: string) => tree.locator(`[role="treeitem"][data-path="${path}"]`);
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el?.getAttribute('role') === 'treeitem' ? el.dataset.path : `not an item: ${el?.tagName}`;
      });
    await item(`${W}/kb`).waitFor({ timeout: WAIT_MS });
    // One tab stop for the whole tree (roving tabindex), on the root to start with.
    expect(await tree.locator('[role="treeitem"][tabindex="0"]').count()).toBe(1);
    await item(W).focus();
    await page.keyboard.press('Home');
    expect(await focused()).toBe(W);
    for (let i = 0; i < 40 && (await focused()) !== `${W}/kb`; i++) await page.keyboard.press('ArrowDown');
    expect(await focused()).toBe(`${W}/kb`);
    expect(await item(`${W}/kb`).getAttribute('aria-expanded')).toBe('false');
    expect(await item(`${W}/kb`).getAttribute('aria-level')).toBe('2');
    await page.keyboard.press('ArrowRight'); // opens kb/
    await item(`${W}/kb/sub`).waitFor({ timeout: WAIT_MS });
    expect(await item(`${W}/kb`).getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('ArrowRight'); // into kb/: its first item (folders first)
    expect(await focused()).toBe(`${W}/kb/sub`);
    await page.keyboard.press('ArrowRight');
    await item(`${W}/kb/sub/note.txt`).waitFor({ timeout: WAIT_MS });
    await page.keyboard.press('ArrowRight');
    expect(await focused()).toBe(`${W}/kb/sub/note.txt`);
    expect(await item(`${W}/kb/sub/note.txt`).getAttribute('aria-level')).toBe('4');
    expect(await item(`${W}/kb/sub/note.txt`).getAttribute('aria-selected')).toBe('true');
    expect(await tree.locator('[role="treeitem"][tabindex="0"]').count()).toBe(1);
    await page.keyboard.press('Enter'); // opens the file
    await page.locator('.cm-content', { hasText: 'key-note' }).waitFor({ timeout: WAIT_MS });
    await item(`${W}/kb/sub/note.txt`).focus();
    await page.keyboard.press('ArrowDown');
    expect(await focused()).toBe(`${W}/kb/a.txt`);
    // The item with focus is the selected one: Tab goes on to its actions just after the tree (the
    // rest of the tree and the rows' own buttons, which are for the mouse, are not tab stops).
    await page.getByRole('button', { name: `Download ${W}/kb/a.txt` }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
      `Download ${W}/kb/a.txt`,
    );
    await item(`${W}/kb/a.txt`).focus();
    await page.keyboard.press('ArrowLeft'); // a file: to its parent
    expect(await focused()).toBe(`${W}/kb`);
    await page.keyboard.press('ArrowLeft'); // an open folder: closes it
    expect(await item(`${W}/kb`).getAttribute('aria-expanded')).toBe('false');
    expect(await item(`${W}/kb/sub`).count()).toBe(0);
    await page.keyboard.press('End');
    expect(await focused()).toBe(await tree.locator('[role="treeitem"]').last().getAttribute('data-path'));
    await page.keyboard.press('Home');
    expect(await focused()).toBe(W);
    await page.getByText('Folder: /workspace', { exact: true }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('files: dropping a folder uploads its whole tree, empty folders too; a drop over the caps is refused whole', async () => {
    await page.getByText('Folder: /workspace', { exact: true }).waitFor();
    // Chromium hands a dropped folder over as FileSystemDirectoryEntry objects, which a script cannot
    // make: the drop carries real Files in entries of the same shape (readEntries in batches of 2).
    const dropFolder = (spec: Record<string, unknown>) =>
      page.evaluate((tree) => {
        type Spec = string | { [name: string]: Spec };
        const entry = (name: string, node: Spec): unknown =>
          typeof node === 'string'
            ? {
                isFile: true,
                isDirectory: false,
                name,
                file: (ok: (f: File) => void) => setTimeout(() => ok(new File([node], name))),
              }
            : {
                isFile: false,
                isDirectory: true,
                name,
                createReader: () => {
                  const kids = Object.entries(node).map(([n, v]) => entry(n, v));
                  let at = 0;
                  return {
                    readEntries: (ok: (e: unknown[]) => void) =>
                      setTimeout(() => {
                        ok(kids.slice(at, at + 2));
                        at += 2;
                      }),
                  };
                },
              };
        const dt = new DataTransfer();
        const [name, node] = Object.entries(tree)[0]!;
        Object.defineProperty(dt, 'items', {
          value: [{ kind: 'file', webkitGetAsEntry: () => entry(name, node as Spec) }],
        });
        document
          .querySelector('.sbx-files')!
          .dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
      }, spec);

    await dropFolder({
      'dropped-proj': {
        'README.md': '# dropped',
        src: { 'main.py': 'print(1)', util: { 'deep.txt': 'deep-contents' } },
        empty: {},
      },
    });
    await page
      .locator('[data-upload-state="done"]', { hasText: '/workspace/dropped-proj/src/util/deep.txt' })
      .waitFor({ timeout: WAIT_MS });
    await page
      .locator('[data-upload-state="done"]', { hasText: '/workspace/dropped-proj/README.md' })
      .waitFor();
    const listing = await execIn(
      platform.url,
      ns,
      CODE,
      'cd /workspace/dropped-proj && find . | sort && cat src/util/deep.txt',
    );
    expect(listing.stdout.trim().split('\n')).toEqual([
      '.',
      './README.md',
      './empty',
      './src',
      './src/main.py',
      './src/util',
      './src/util/deep.txt',
      'deep-contents',
    ]);
    await page
      .locator('[role="treeitem"][data-path="/workspace/dropped-proj"]')
      .waitFor({ timeout: WAIT_MS });

    // Over the file count: refused before any folder is made or file sent.
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`f${i}.txt`, 'x']));
    await dropFolder({ 'too-many': many });
    await page
      .getByText(/more than 1000 files: drop fewer at a time, or upload a zip/)
      .waitFor({ timeout: WAIT_MS });
    const none = await execIn(
      platform.url,
      ns,
      CODE,
      'test -e /workspace/too-many && echo exists || echo absent',
    );
    expect(none.stdout.trim()).toBe('absent');
    await screenshot(page, 'tab-files-folder-drop');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('files: an oversized upload is refused in the browser with what to do', async () => {
    const dataTransfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(32 * 1024 * 1024 + 1)], 'huge.bin'));
      return dt;
    });
    await page.dispatchEvent('.sbx-files', 'drop', { dataTransfer });
    await page.getByText(/huge\.bin is 32\.0 MiB, over the 32\.0 MiB limit per file/).waitFor();
    await page
      .getByText(/split or compress it/)
      .first()
      .waitFor();
    const stat = await api(
      platform.url,
      'GET',
      `/api/v1/sandboxes/${CODE}/fs/stat?namespace=${ns}&path=/workspace/huge.bin`,
    );
    expect(stat.status).toBe(404);
  });

  it('processes and ports: start a web server, forward its port, open the preview on its own origin', async () => {
    await api(
      platform.url,
      'PUT',
      `/api/v1/sandboxes/${CODE}/files/workspace/site/index.html?namespace=${ns}`,
      '<!doctype html><title>preview</title><h1 id="msg">hello from the sandbox</h1>',
    );
    await page.goto(tabUrl(CODE, 'processes'));
    await page.getByLabel('Command').fill('python3 -u -m http.server 8000 --directory /workspace/site');
    await page.getByLabel('Name (optional)').fill('web');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByText('Following live output…').waitFor({ timeout: WAIT_MS });
    await page.locator('pre.sbx-log', { hasText: 'Serving HTTP' }).waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'tab-processes');
    expect(await seriousAxeViolations(page)).toEqual([]);

    await page.goto(tabUrl(CODE, 'ports'));
    await page.getByLabel('Port', { exact: true }).fill('8000');
    await page.getByRole('button', { name: 'Forward' }).click();
    const row = page.locator('tr', { hasText: '8000' });
    await row.locator('td', { hasText: /^yes$/ }).waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'tab-ports');
    expect(await seriousAxeViolations(page)).toEqual([]);
    // Record how the tab opens it (the page's COOP header also severs the opener: two layers).
    await page.evaluate(() => {
      const open = window.open.bind(window);
      window.open = (...args: Parameters<typeof window.open>) => {
        (window as unknown as { lastOpenFeatures: unknown }).lastOpenFeatures = args[2];
        return open(...args);
      };
    });
    const [preview] = await Promise.all([
      context.waitForEvent('page'),
      page.getByRole('button', { name: 'Open preview of port 8000 (new tab)' }).click(),
    ]);
    await preview.locator('#msg', { hasText: 'hello from the sandbox' }).waitFor({ timeout: WAIT_MS });
    const origin = new URL(preview.url()).origin;
    expect(origin).not.toBe(new URL(platform.url).origin);
    expect(new URL(preview.url()).hostname).toBe(`8000-${CODE}--${ns}.localhost`);
    // Hostile content gets no handle on the UI's window (opened with noopener).
    expect(await preview.evaluate(() => window.opener === null)).toBe(true);
    const features = await page.evaluate(
      () => (window as unknown as { lastOpenFeatures: unknown }).lastOpenFeatures,
    );
    expect(String(features).split(',')).toEqual(expect.arrayContaining(['noopener', 'noreferrer']));
    await screenshot(preview, 'preview');
    await preview.close();

    // Kill the server from the Processes tab.
    await page.goto(tabUrl(CODE, 'processes'));
    await page.getByRole('button', { name: 'Output of web' }).click();
    await page.getByRole('button', { name: 'Kill' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Kill' }).click();
    await page
      .locator('tr', { hasText: 'web' })
      .locator('td', { hasText: /^(exited|killed|signaled)/ })
      .waitFor({ timeout: WAIT_MS });
  });

  it('agent: configure with the streamed install log, invoke with streamed output, run history', async () => {
    await page.goto(tabUrl(AGENT, 'agent'));
    await page.getByLabel('Install command').fill(`python3 -c "print('installing the agent')"`);
    await page.getByRole('button', { name: 'Configure' }).click();
    await page.getByText(/^Configured: /).waitFor({ timeout: WAIT_MS });
    await page.locator('pre.sbx-log', { hasText: 'installing the agent' }).waitFor();
    await page.getByLabel("Input (the entrypoint's stdin)").fill('hello e2e');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.locator('[data-run-state="finished"]').waitFor({ timeout: WAIT_MS });
    await page.getByText(/Finished: exit code 0/).waitFor();
    await page.locator('pre.sbx-log', { hasText: 'you said: hello e2e' }).waitFor();
    await page.locator('tbody tr', { hasText: 'completed' }).first().waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'tab-agent');
    expect(await seriousAxeViolations(page)).toEqual([]);

    // A fresh page fills the form from GET …/agent/config and the files' current contents.
    await page.reload();
    await page.locator('[data-prefill="configured"]').waitFor({ timeout: WAIT_MS });
    expect(await page.getByLabel('Install command').inputValue()).toBe(
      `python3 -c 'print('\\''installing the agent'\\'')'`,
    );
    expect(await page.getByLabel('Entrypoint', { exact: true }).inputValue()).toBe(
      'python3 /workspace/agent.py',
    );
    expect(await page.getByLabel('Contents of /workspace/agent.py').inputValue()).toContain('you said:');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('settings, then stop and resume from the page', async () => {
    await page.goto(tabUrl(CODE, 'settings'));
    await page.getByLabel('Idle timeout').fill('45m');
    await page.getByRole('button', { name: 'Save timeouts and resources' }).click();
    await page
      .getByText(/^Saved\./)
      .first()
      .waitFor({ timeout: WAIT_MS });
    await page.getByLabel(/Add or change labels/).fill('team=e2e');
    await page.getByRole('button', { name: 'Save labels' }).click();
    await page.getByText('team=e2e').waitFor({ timeout: WAIT_MS });
    const r = await api(platform.url, 'GET', `/api/v1/sandboxes/${CODE}?namespace=${ns}`);
    expect(r.json.idleTimeout).toBe('45m');
    expect(r.json.labels.team).toBe('e2e');
    // Removing one label (a JSON merge patch with null) keeps the others.
    await page.getByLabel(/Add or change labels/).fill('stale=yes');
    await page.getByRole('button', { name: 'Save labels' }).click();
    await page.getByRole('button', { name: 'Remove label stale' }).click();
    await page.getByText('Removed label stale.').waitFor({ timeout: WAIT_MS });
    await page.getByText('stale=yes').waitFor({ state: 'detached', timeout: WAIT_MS });
    const after = await api(platform.url, 'GET', `/api/v1/sandboxes/${CODE}?namespace=${ns}`);
    expect(after.json.labels).toEqual({ team: 'e2e' });
    await screenshot(page, 'tab-settings');
    expect(await seriousAxeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Stop sandbox' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
    await waitForPhase(platform.url, ns, CODE, 'Stopped', WAIT_MS);
    await page.goto(tabUrl(CODE, 'terminal'));
    await page.getByRole('button', { name: 'Resume sandbox' }).click();
    await page.locator('[data-status="connected"]').waitFor({ timeout: WAIT_MS });
    // The workspace survived the stop.
    await page.locator('.xterm').click();
    await page.keyboard.type('cat /workspace/live.txt\n');
    await expectTextOnScreen(page, 'edited-in-the-browser');
  });

  it('works on a 390-px phone', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize(PHONE);
    for (const tab of ['terminal', 'files', 'ports']) {
      await phone.goto(tabUrl(CODE, tab));
      await phone.locator('.tab-panel').waitFor();
      if (tab === 'terminal') await phone.locator('[data-status="connected"]').waitFor({ timeout: WAIT_MS });
      if (tab === 'files')
        await phone
          .locator('[role="treeitem"][data-path="/workspace/live.txt"]')
          .waitFor({ timeout: WAIT_MS });
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${tab} is wider than the phone`).toBeLessThanOrEqual(0);
      await screenshot(phone, `tab-${tab}-phone`);
    }
    await phone.close();
  });
});
