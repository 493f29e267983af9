/**
 * The Files tab's tree from the keyboard, as a component (React in happy-dom, the real SDK against a
 * real HTTP server listing folders): the WAI-ARIA tree attributes, one tab stop that moves with the
 * arrows, folders opened and closed with Right/Left, Enter opening a file, Delete asking first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import type { SandboxView } from '@agenttier/sdk';
import { openSse, sandboxView, sendJson } from '@agenttier/sdk/testing';
import { renderWithServer, waitFor, type Rendered } from '../testing/render.tsx';
import FilesTab from './FilesTab.tsx';

const view = sandboxView('demo', 'Running') as unknown as SandboxView;
const entry = (dir: string, name: string, isDir: boolean, size = 0) => ({
  name,
  path: `${dir}/${name}`,
  isDir,
  size,
  mode: isDir ? 'drwxr-xr-x' : '-rw-r--r--',
  modifiedAt: 0,
});
const LISTINGS: Record<string, unknown[]> = {
  '/workspace': [entry('/workspace', 'src', true), entry('/workspace', 'README.md', false, 12)],
  '/workspace/src': [entry('/workspace/src', 'main.py', false, 9)],
};

let ui: Rendered | undefined;
const feeds: ServerResponse[] = [];
afterEach(async () => {
  for (const f of feeds.splice(0)) f.end();
  await ui?.close();
  ui = undefined;
});

async function renderTab(): Promise<Rendered> {
  ui = await renderWithServer(<FilesTab sandbox={view} />, {
    'GET /api/v1/sandboxes/demo/files/': (req, res) =>
      sendJson(res, 200, { entries: LISTINGS[req.query.get('path') ?? ''] ?? [] }),
    'GET /api/v1/sandboxes/demo/fs/watch': (_req, res) => {
      const sse = openSse(res);
      sse.send('ready', { root: '/workspace' });
      feeds.push(res);
    },
    'GET /api/v1/sandboxes/demo/files/workspace/README.md': (_req, res) =>
      void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('# readme\n'),
  });
  await waitFor(() => expect(items()).toContain('/workspace/README.md'));
  return ui;
}

const tree = (): HTMLElement => ui!.host.querySelector('[role="tree"]')!;
const items = (): string[] =>
  [...tree().querySelectorAll<HTMLElement>('[role="treeitem"]')].map((i) => i.dataset.path!);
const item = (path: string): HTMLElement => tree().querySelector(`[role="treeitem"][data-path="${path}"]`)!;
const focusedPath = (): string | undefined => (document.activeElement as HTMLElement | null)?.dataset.path;
const press = (key: string): void => {
  (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
};
const tabStops = (): string[] =>
  [...tree().querySelectorAll<HTMLElement>('[role="treeitem"][tabindex="0"]')].map((i) => i.dataset.path!);

describe('Files tab tree (keyboard)', () => {
  it('is a WAI-ARIA tree: levels, expanded state, one tab stop', async () => {
    await renderTab();
    expect(tree().getAttribute('aria-label')).toBe('Workspace files');
    expect(items()).toEqual(['/workspace', '/workspace/src', '/workspace/README.md']);
    expect(item('/workspace').getAttribute('aria-level')).toBe('1');
    expect(item('/workspace/src').getAttribute('aria-level')).toBe('2');
    expect(item('/workspace').getAttribute('aria-expanded')).toBe('true');
    expect(item('/workspace/src').getAttribute('aria-expanded')).toBe('false');
    expect(item('/workspace/README.md').hasAttribute('aria-expanded')).toBe(false);
    expect(tabStops()).toEqual(['/workspace']);
    // The row's buttons are for the mouse: out of the tab order and hidden from assistive technology.
    for (const b of item('/workspace/README.md').querySelectorAll('button')) {
      expect(b.tabIndex).toBe(-1);
      expect(b.closest('[aria-hidden="true"]')).not.toBeNull();
    }
  });

  it('moves with the arrows, opens and closes folders, and Enter opens a file', async () => {
    await renderTab();
    item('/workspace').focus();
    press('ArrowDown');
    await waitFor(() => expect(focusedPath()).toBe('/workspace/src'));
    expect(tabStops()).toEqual(['/workspace/src']);
    expect(item('/workspace/src').getAttribute('aria-selected')).toBe('true');
    expect(ui!.host.textContent).toContain('Folder: /workspace/src');
    press('ArrowRight');
    await waitFor(() => expect(items()).toContain('/workspace/src/main.py'));
    expect(item('/workspace/src').getAttribute('aria-expanded')).toBe('true');
    press('ArrowRight');
    await waitFor(() => expect(focusedPath()).toBe('/workspace/src/main.py'));
    expect(item('/workspace/src/main.py').getAttribute('aria-level')).toBe('3');
    press('ArrowLeft');
    await waitFor(() => expect(focusedPath()).toBe('/workspace/src'));
    press('ArrowLeft');
    await waitFor(() => expect(items()).not.toContain('/workspace/src/main.py'));
    press('End');
    await waitFor(() => expect(focusedPath()).toBe('/workspace/README.md'));
    press('Enter');
    await waitFor(() =>
      expect(ui!.host.querySelector('[aria-label="Editor for /workspace/README.md"]')).not.toBeNull(),
    );
    press('Home');
    await waitFor(() => expect(focusedPath()).toBe('/workspace'));
  });

  it('Delete on an item asks first and sends nothing until confirmed', async () => {
    await renderTab();
    item('/workspace/README.md').focus();
    press('Delete');
    await waitFor(() =>
      expect(ui!.host.querySelector('dialog')?.textContent).toContain('Delete file README.md?'),
    );
    expect(ui!.writes()).toEqual([]);
  });
});
