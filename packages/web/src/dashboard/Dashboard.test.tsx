/**
 * The dashboard as a component: React in happy-dom, the real SDK against a real HTTP server (the
 * SDK's test server) standing in for the router. Checks what is easy to get wrong: a list that
 * changes under the page, filters, bulk actions reaching every selected sandbox and only those, and
 * delete waiting for the confirmation.
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createRoot } from 'react-dom/client';
import type { Root } from 'react-dom/client';
import { MemoryRouter } from 'react-router';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sandboxView, sendJson, startTestServer } from '@agenttier/sdk/testing';
import type { TestServer } from '@agenttier/sdk/testing';
import { SessionProvider } from '../auth/session.tsx';
import { Dashboard } from './Dashboard.tsx';

// The list re-reads itself every second: tests wait for what the page shows (no act()).

let server: TestServer;
let sandboxes: Array<ReturnType<typeof sandboxView>>;
let root: Root;
let host: HTMLElement;

beforeAll(async () => {
  server = await startTestServer({
    'GET /api/v1/user/me': (_req, res) =>
      sendJson(res, 200, { id: 'dev-user', name: 'Dev User', groups: [], isAdmin: true }),
    'GET /api/v1/sandboxes': (_req, res) => sendJson(res, 200, { sandboxes }),
  });
  for (const name of ['alpha', 'beta', 'gamma']) {
    server.route(`POST /api/v1/sandboxes/${name}/stop`, (_req, res) =>
      sendJson(res, 200, { status: 'stopping', sandbox: sandboxView(name, 'Running') }),
    );
    server.route(`DELETE /api/v1/sandboxes/${name}`, (_req, res) => {
      sandboxes = sandboxes.filter((s) => s.name !== name);
      res.writeHead(204).end();
    });
  }
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(`${server.url}/`);
});

afterAll(async () => {
  await server.close();
});

beforeEach(async () => {
  sandboxes = [
    sandboxView('alpha', 'Running'),
    sandboxView('beta', 'Stopped', { templateRef: 'minimal-shell' }),
    sandboxView('gamma', 'Running', { namespace: 'team' }),
  ];
  server.requests.length = 0;
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  root.render(
    <QueryClientProvider client={qc}>
      <SessionProvider>
        <MemoryRouter>
          <Dashboard />
        </MemoryRouter>
      </SessionProvider>
    </QueryClientProvider>,
  );
  await waitFor(() => expect(rows()).toEqual(['alpha', 'beta', 'gamma']));
});

afterEach(async () => {
  root.unmount();
  host.remove();
});

const rows = (): string[] =>
  [...host.querySelectorAll('tr[data-sandbox]')].map((r) => r.getAttribute('data-sandbox')!);
const button = (name: string): HTMLButtonElement => {
  const b = [...host.querySelectorAll('button')].find(
    (x) => (x.getAttribute('aria-label') ?? x.textContent) === name,
  );
  if (!b) throw new Error(`no button ${name}`);
  return b;
};
const waitFor = (fn: () => void): Promise<void> => vi.waitFor(fn, { timeout: 5000, interval: 20 });
const calls = (): string[] =>
  server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}?${r.query.toString()}`);

function type(input: HTMLInputElement | HTMLSelectElement, value: string): void {
  // React listens for the native setter + input/change events.
  const proto = input instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event(input instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
}

function labelled(text: string): HTMLInputElement | HTMLSelectElement {
  const label = [...host.querySelectorAll('label')].find((l) => l.textContent?.startsWith(text));
  const control = label?.querySelector('input, select');
  if (!control) throw new Error(`no control labelled ${text}`);
  return control as HTMLInputElement | HTMLSelectElement;
}

describe('Dashboard', () => {
  it('follows the server: a sandbox created or deleted elsewhere appears and vanishes', async () => {
    sandboxes = [...sandboxes, sandboxView('delta', 'Creating')];
    await waitFor(() => expect(rows()).toContain('delta'));
    sandboxes = sandboxes.filter((s) => s.name !== 'alpha');
    await waitFor(() => expect(rows()).not.toContain('alpha'));
    sandboxes = sandboxes.map((s) => (s.name === 'delta' ? sandboxView('delta', 'Running') : s));
    await waitFor(() =>
      expect(host.querySelector('tr[data-sandbox="delta"]')?.getAttribute('data-phase')).toBe('Running'),
    );
  });

  it('filters by phase, template, namespace and search', async () => {
    const all = ['alpha', 'beta', 'gamma'];
    const cases: Array<[string, string, string[]]> = [
      ['Phase', 'Stopped', ['beta']],
      ['Namespace', 'team', ['gamma']],
      ['Template', 'minimal-shell', ['beta']],
      ['Search', 'AMM', ['gamma']],
    ];
    for (const [label, value, shown] of cases) {
      type(labelled(label), value);
      await waitFor(() => expect(rows()).toEqual(shown));
      type(labelled(label), '');
      await waitFor(() => expect(rows()).toEqual(all));
    }
  });

  it('stops every selected sandbox, in its own namespace, and no other', async () => {
    (host.querySelector('input[aria-label="Select alpha"]') as HTMLInputElement).click();
    (host.querySelector('input[aria-label="Select gamma"]') as HTMLInputElement).click();
    button('Stop selected').click();
    await waitFor(() =>
      expect(calls()).toEqual([
        'POST /api/v1/sandboxes/alpha/stop?namespace=default',
        'POST /api/v1/sandboxes/gamma/stop?namespace=team',
      ]),
    );
    await waitFor(() => expect(host.textContent).toContain('Stopping 2 sandboxes.'));
  });

  it('deletes only after the confirmation, and Cancel sends nothing', async () => {
    button('Delete beta').click();
    const dialog = host.querySelector('dialog')!;
    await waitFor(() => expect(dialog.open).toBe(true));
    expect(dialog.textContent).toContain('Delete beta?');
    [...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Cancel')!.click();
    await waitFor(() => expect(dialog.open).toBe(false));
    expect(calls()).toEqual([]);
    button('Delete beta').click();
    await waitFor(() => expect(dialog.open).toBe(true));
    [...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Delete')!.click();
    await waitFor(() => expect(calls()).toEqual(['DELETE /api/v1/sandboxes/beta?namespace=default']));
    await waitFor(() => expect(rows()).toEqual(['alpha', 'gamma']));
  });

  it('explains the first step when there is no sandbox', async () => {
    sandboxes = [];
    await waitFor(() => expect(host.textContent).toContain('No sandboxes yet'));
    const links = [...host.querySelectorAll('a[href="/new"]')].map((a) => a.textContent);
    expect(links).toContain('Create your first sandbox');
  });
});
