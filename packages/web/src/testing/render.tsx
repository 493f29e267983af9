import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { MemoryRouter } from 'react-router';
import { vi } from 'vitest';
import { sendJson, startTestServer } from '@agenttier/sdk/testing';
import type { TestHandler, TestServer } from '@agenttier/sdk/testing';
import { SessionProvider, useSession } from '../auth/session.tsx';

/**
 * As in the app, the screen renders once the user is known and the session has cleared the query
 * cache for that user (its effect runs after its children's, so children mounted in the same commit
 * would lose their first queries).
 */
function SignedIn({ children }: { children: ReactNode }): ReactNode {
  const signedIn = useSession().state.status === 'signed-in';
  const [settled, setSettled] = useState(false);
  useEffect(() => setSettled(signedIn), [signedIn]);
  return signedIn && settled ? children : null;
}

/**
 * A component in happy-dom with what the app wraps it in (query cache, session, router), talking
 * through the real SDK to a real HTTP server with the routes given (plus the signed-in user).
 */
export interface Rendered {
  server: TestServer;
  host: HTMLElement;
  /** The button whose accessible name (aria-label, else text) is `name`. */
  button(name: string): HTMLButtonElement;
  /** The input or textarea of the <label> whose text starts with `text`. */
  field(text: string): HTMLInputElement | HTMLTextAreaElement;
  /** Types into a control the way React hears it (native setter, then an input event). */
  type(control: HTMLInputElement | HTMLTextAreaElement, value: string): void;
  /** Requests other than GET, as `METHOD /path` with the JSON body. */
  writes(): Array<{ call: string; body: unknown }>;
  close(): Promise<void>;
}

export const waitFor = (fn: () => void): Promise<void> => vi.waitFor(fn, { timeout: 5000, interval: 20 });

export async function renderWithServer(
  element: ReactNode,
  routes: Record<string, TestHandler>,
): Promise<Rendered> {
  const server = await startTestServer({
    'GET /api/v1/user/me': (_req, res) =>
      sendJson(res, 200, { id: 'dev-user', name: 'Dev User', groups: [], isAdmin: true }),
    ...routes,
  });
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(`${server.url}/`);
  const host = document.createElement('div');
  document.body.append(host);
  const root = createRoot(host);
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  root.render(
    <QueryClientProvider client={qc}>
      <SessionProvider>
        <MemoryRouter>
          <SignedIn>{element}</SignedIn>
        </MemoryRouter>
      </SessionProvider>
    </QueryClientProvider>,
  );
  return {
    server,
    host,
    button(name) {
      const b = [...host.querySelectorAll('button')].find(
        (x) => (x.getAttribute('aria-label') ?? x.textContent) === name,
      );
      if (!b) throw new Error(`no button ${name}`);
      return b;
    },
    field(text) {
      const label = [...host.querySelectorAll('label')].find((l) => l.textContent?.startsWith(text));
      const control = label ? host.querySelector(`#${CSS.escape(label.htmlFor)}`) : null;
      if (!control) throw new Error(`no control labelled ${text}`);
      return control as HTMLInputElement | HTMLTextAreaElement;
    },
    type(control, value) {
      const proto =
        control instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
      Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(control, value);
      control.dispatchEvent(new Event('input', { bubbles: true }));
    },
    writes() {
      return server.requests
        .filter((r) => r.method !== 'GET')
        .map((r) => ({ call: `${r.method} ${r.path}`, body: r.body.length ? r.json() : undefined }));
    },
    async close() {
      root.unmount();
      host.remove();
      await server.close();
    },
  };
}
