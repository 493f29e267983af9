/**
 * Browser sessions in real Chromium (playwright-core driving Debian's chromium) against a listening
 * router with API keys and sessions on, whose sandbox is served by a real sandboxd on the host. The
 * UI's origin (the router's own, `http://localhost:PORT`) logs in with a key and then uses the
 * cookie for REST, SSE and the terminal WebSocket. Pages elsewhere try to ride that cookie:
 *
 * - a cross-site page (`http://127.0.0.1:OTHER`, another site than `localhost`): SameSite=Strict
 *   keeps the cookie off its requests, and the Origin guard refuses its POSTs and WebSockets;
 * - a same-site page (`http://localhost:OTHER`: cookies ignore ports, so the browser sends it): only
 *   the router's same-origin rule for cookies and the Origin guard stand in the way.
 */
import type { Server } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium, LOOPBACK_ONLY_RESOLVER } from '@agenttier/testkit/browser';
import type { Sandbox } from '@agenttier/contract';
import type { SqliteStore } from '@agenttier/platform-local';
import { SESSION_BINDING_HEADER } from '@agenttier/contract';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import type { SqliteApiKeyStore } from './sqlite-api-keys.ts';
import type { SessionApp } from '../testing/session-app.ts';
import { startSessionApp } from '../testing/session-app.ts';
import { createHostShellTemplate, createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { closeServer, htmlPages, listenOnLoopback } from '../testing/loopback-server.ts';

let sd: LocalSandboxd;
let browser: Browser;
/** Hostile pages, served on another port: reached as 127.0.0.1 (cross-site) or localhost (same-site). */
let evil: Server;
let evilPort: number;
const evilPages = new Map<string, string>();

let router: SessionApp;
let store: SqliteStore;
let keys: SqliteApiKeyStore;
let ui: string;
let context: BrowserContext;
let aliceKey: string;
/** Every API request the router answered: path, status and the browser's Sec-Fetch-Site. */
let seen: Array<{ url: string; status: number; site?: string; cookie: boolean }>;
/** The session binding the page keeps (as the web UI does, in its origin's localStorage). */
const BINDING = 'b'.repeat(43);

beforeAll(async () => {
  sd = await startLocalSandboxd();
  evil = htmlPages(evilPages);
  evilPort = await listenOnLoopback(evil);
  browser = await launchChromium({ hostResolverRules: LOOPBACK_ONLY_RESOLVER });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await closeServer(evil);
  await sd?.stop();
});

beforeEach(async () => {
  seen = [];
  router = await startSessionApp({
    owner: 'alice',
    isAdmin: true,
    deps: { sandboxdFor: () => sd.client },
    beforeListen: (app) =>
      app.addHook('onResponse', async (req, reply) => {
        const site = req.headers['sec-fetch-site'];
        seen.push({
          url: req.url,
          status: reply.statusCode,
          ...(typeof site === 'string' ? { site } : {}),
          cookie: /agenttier_session=/.test(req.headers.cookie ?? ''),
        });
      }),
  });
  ({ store, keys, key: aliceKey } = router);
  ui = `http://localhost:${router.port}`;
  const auth = { 'x-api-key': aliceKey };
  await createHostShellTemplate(router.app, sd.workspace, auth);
  await createRunningSandbox(router.app, store, { name: 'box', headers: auth });
  context = await browser.newContext();
});

afterEach(async () => {
  await context.close();
  await router.close();
  evilPages.clear();
});

/** Logs the browser in from the UI's origin, as the web UI does. */
async function loginInBrowser(): Promise<void> {
  const page = await context.newPage();
  await page.goto(`${ui}/api/v1/auth/methods`);
  // The web UI chooses the session's binding and keeps it in its origin's storage.
  const status = await page.evaluate(`(() => {
    localStorage.setItem('binding', ${JSON.stringify(BINDING)});
    return fetch('/api/v1/auth/session', {
      method: 'POST', headers: { 'content-type': 'application/json', '${SESSION_BINDING_HEADER}': ${JSON.stringify(BINDING)} },
      body: JSON.stringify({ apiKey: ${JSON.stringify(aliceKey)} }),
    }).then((r) => r.status);
  })()`);
  expect(status).toBe(201);
  await page.close();
}

/** Opens `url` and waits for the page's `window.result` (a promise the page's script sets). */
async function resultOf(url: string): Promise<unknown> {
  const page = await context.newPage();
  await page.goto(url);
  return page.evaluate('window.result');
}

const TERMINAL_PROBE = (wsUrl: string) => `<script>
  window.result = new Promise((resolve) => {
    const out = [];
    const ws = new WebSocket(${JSON.stringify(wsUrl)});
    ws.onopen = () => ws.send(JSON.stringify({ type: 'input', data: 'echo pwned-$((6*7))\\n' }));
    ws.onmessage = (m) => {
      out.push(String(m.data));
      if (out.join('').includes('pwned-42')) { resolve({ opened: true, output: out.join('') }); ws.close(); }
    };
    ws.onerror = () => resolve({ opened: false });
    ws.onclose = () => resolve({ opened: false, output: out.join('') });
    setTimeout(() => resolve({ opened: 'timeout', output: out.join('') }), 8000);
  });
</script>`;

describe('the UI origin with the session cookie', () => {
  it('uses REST, SSE and the terminal WebSocket with the cookie alone; page scripts cannot read it', async () => {
    await loginInBrowser();
    const page = await context.newPage();
    await page.goto(`${ui}/api/v1/auth/methods`);
    // Every request carries the binding: a header on fetch (SSE streams are read through fetch, as the
    // SDK does: an EventSource cannot send it), a second subprotocol on the WebSocket.
    const result = (await page.evaluate(`(async () => {
      const bound = { '${SESSION_BINDING_HEADER}': localStorage.getItem('binding') };
      const me = await (await fetch('/api/v1/user/me', { headers: bound })).json();
      const sse = await fetch('/api/v1/sandboxes/box/fs/watch?path=' + encodeURIComponent(${JSON.stringify(sd.workspace)}),
        { headers: { ...bound, accept: 'text/event-stream' } })
        .then(async (r) => { await r.body.cancel(); return r.ok && r.headers.get('content-type').startsWith('text/event-stream') ? 'open' : 'error ' + r.status; });
      const unbound = await new Promise((resolve) => {
        const es = new EventSource('/api/v1/sandboxes/box/fs/watch?path=' + encodeURIComponent(${JSON.stringify(sd.workspace)}));
        es.onopen = () => { es.close(); resolve('open'); };
        es.onerror = () => { es.close(); resolve('error'); };
      });
      let protocol;
      const term = await new Promise((resolve) => {
        const out = [];
        const ws = new WebSocket('ws://' + location.host + '/ws/terminal/box?session=ui',
          ['agenttier', 'agenttier.binding.' + localStorage.getItem('binding')]);
        ws.onopen = () => {
          protocol = ws.protocol;
          ws.send(JSON.stringify({ type: 'input', data: 'echo ui-$((6*7))\\n' }));
        };
        ws.onmessage = (m) => { out.push(String(m.data)); if (out.join('').includes('ui-42')) { ws.close(); resolve('ok'); } };
        ws.onclose = () => resolve('closed: ' + out.join(''));
      });
      const bare = await new Promise((resolve) => {
        const ws = new WebSocket('ws://' + location.host + '/ws/terminal/box?session=unbound');
        ws.onopen = () => { ws.close(); resolve('open'); };
        ws.onerror = () => resolve('refused');
      });
      return { me, sse, unbound, term, protocol, bare, cookieVisible: document.cookie.includes('agenttier_session') };
    })()`)) as {
      me: { id: string; authMethod: string };
      sse: string;
      unbound: string;
      term: string;
      protocol: string;
      bare: string;
      cookieVisible: boolean;
    };
    expect(result.me).toMatchObject({ id: 'alice', authMethod: 'session' });
    expect(result.sse).toBe('open');
    expect(result.term).toBe('ok');
    // The router selects `agenttier`, never echoing the binding.
    expect(result.protocol).toBe('agenttier');
    // The cookie alone (what a planted cookie is): an EventSource and a WebSocket get nothing.
    expect(result.unbound).toBe('error');
    expect(result.bare).toBe('refused');
    expect((await sd.client.listTerminals()).map((t) => t.session)).not.toContain('unbound');
    expect(result.cookieVisible).toBe(false); // HttpOnly
  });
});

describe('pages on other origins cannot ride the cookie', () => {
  it('a cross-site page: its POSTs and its terminal WebSocket get nothing', async () => {
    await loginInBrowser();
    evilPages.set(
      '/post',
      `<script>
      const api = '${ui}/api/v1';
      window.result = Promise.allSettled([
        fetch(api + '/user/api-keys', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'stolen' }) }),
        fetch(api + '/sandboxes/box/stop', { method: 'POST', mode: 'no-cors', credentials: 'include' }),
      ]).then(() => 'sent');
      </script>`,
    );
    expect(await resultOf(`http://127.0.0.1:${evilPort}/post`)).toBe('sent');
    evilPages.set('/ws', TERMINAL_PROBE(`ws://localhost:${new URL(ui).port}/ws/terminal/box?session=evil`));
    const ws = (await resultOf(`http://127.0.0.1:${evilPort}/ws`)) as {
      opened: boolean | string;
      output?: string;
    };
    expect(ws.opened).toBe(false);
    expect(await keys.list('alice')).toHaveLength(1);
    const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'box' }))!;
    expect(sb.spec.desiredState ?? 'Running').toBe('Running');
    // SameSite=Strict: the browser did not even send the cookie cross-site.
    const apiCalls = seen.filter((s) => s.url.startsWith('/api/v1/user/api-keys') || s.url.includes('/stop'));
    expect(apiCalls.length).toBeGreaterThan(0);
    expect(apiCalls.filter((s) => s.cookie)).toEqual([]);
  });

  it('a same-site page (another port of localhost) gets its cookie sent but authorised nothing', async () => {
    await loginInBrowser();
    const evilSameSite = `http://localhost:${evilPort}`;
    evilPages.set(
      '/read',
      `<script>
      window.result = fetch('${ui}/api/v1/user/me', { credentials: 'include', mode: 'no-cors' }).then(() => 'sent', () => 'blocked');
      </script>`,
    );
    // The answer is opaque or blocked (CORP) either way; what matters is what the router did with it.
    expect(['sent', 'blocked']).toContain(await resultOf(`${evilSameSite}/read`));
    const reads = seen.filter((s) => s.url === '/api/v1/user/me');
    expect(reads.length).toBe(1);
    // The browser sent the cookie (same site), and the router refused it (not same origin).
    expect(reads[0]).toMatchObject({ cookie: true, site: 'same-site', status: 401 });

    evilPages.set(
      '/post',
      `<script>
      window.result = fetch('${ui}/api/v1/user/api-keys', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'stolen' }) }).then(() => 'sent', () => 'blocked');
      </script>`,
    );
    expect(['sent', 'blocked']).toContain(await resultOf(`${evilSameSite}/post`));
    evilPages.set(
      '/ws',
      TERMINAL_PROBE(`ws://localhost:${new URL(ui).port}/ws/terminal/box?session=same-site`),
    );
    const ws = (await resultOf(`${evilSameSite}/ws`)) as { opened: boolean | string };
    expect(ws.opened).toBe(false);
    expect(await keys.list('alice')).toHaveLength(1);
    expect((await sd.client.listTerminals()).map((t) => t.session)).not.toContain('same-site');
  });
});
