/**
 * Attacks from web pages, in real Chromium (playwright-core driving Debian's chromium), against a
 * listening router whose sandboxes are served by a real sandboxd on the host (no container: "inside
 * the sandbox" is the host's loopback). Each attack succeeded on the router before the browser guards
 * (docs/security.md, "Browser: Host and Origin" and "Previews"); each test fails when its guard goes.
 *
 * - The hostile site is a second HTTP server on another loopback port (another origin).
 * - DNS rebinding is simulated in the browser with `--host-resolver-rules` (a name of the attacker's
 *   resolving to 127.0.0.1), and over a raw socket with the attacker's Host.
 * - The previewed app is an HTTP server that sandbox port forwarding reaches through sandboxd.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from '@agenttier/testkit/browser';
import type { FastifyInstance } from 'fastify';
import type { Sandbox } from '@agenttier/contract';
import type { SqliteStore } from '@agenttier/platform-local';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import { rawRequest } from '../testing/raw-http.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';
import { createHostShellTemplate, createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { closeServer, htmlPages, listenOnLoopback } from '../testing/loopback-server.ts';

const REBIND_NAME = 'rebind.attacker.test';

let sd: LocalSandboxd;
let browser: Browser;
/** The hostile site: serves whatever page a test puts in `evilPages`. */
let evil: Server;
let evilOrigin: string;
const evilPages = new Map<string, string>();
/** The app "inside the sandbox" behind the preview: pages in `appPages`, with their extra headers. */
let appServer: Server;
let appPort: number;
const appPages = new Map<string, { type: string; body: string; headers?: Record<string, string> }>();

let store: SqliteStore;
let app: FastifyInstance;
let routerPort: number;
let context: BrowserContext;

beforeAll(async () => {
  sd = await startLocalSandboxd();
  evil = htmlPages(evilPages);
  evilOrigin = `http://127.0.0.1:${await listenOnLoopback(evil)}`;
  appServer = createServer((req, res) => {
    const page = appPages.get((req.url ?? '/').split('?')[0]!);
    if (!page) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`app 404 ${req.url}`);
    res.writeHead(200, { 'content-type': page.type, ...page.headers }).end(page.body);
  });
  appPort = await listenOnLoopback(appServer);
  browser = await launchChromium({
    // DNS rebinding, simulated: the attacker's name resolves to loopback (and nothing else resolves).
    hostResolverRules: `MAP ${REBIND_NAME} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.0.0.1`,
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  for (const s of [evil, appServer]) {
    await closeServer(s);
  }
  await sd?.stop();
});

const runningSandbox = (name: string) => createRunningSandbox(app, store, { name });

/** What the sandbox is asked to be (a stop writes `Stopped` here first). */
const wanted = async (name: string) =>
  (await store.get<Sandbox>('Sandbox', { namespace: 'default', name }))!.spec.desiredState ?? 'Running';

beforeEach(async () => {
  store = await seededStore();
  app = createBareApp(store, {
    sandboxdFor: () => sd.client,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  routerPort = (app.server.address() as AddressInfo).port;
  await createHostShellTemplate(app, sd.workspace);
  await runningSandbox('box');
  await runningSandbox('other');
  context = await browser.newContext();
});

afterEach(async () => {
  await context.close();
  await app.close();
  await store.close();
  evilPages.clear();
  appPages.clear();
});

/** Opens `url` and waits for the page's `window.result` (a promise the page's script sets). */
async function resultOf(url: string): Promise<unknown> {
  const page = await context.newPage();
  await page.goto(url);
  // A string expression: this file is type-checked without the DOM library.
  return page.evaluate('window.result');
}

describe('a page on another origin', () => {
  it('cannot open a terminal over a WebSocket and read its output', async () => {
    evilPages.set(
      '/',
      `<script>
      window.result = new Promise((resolve) => {
        const out = [];
        const ws = new WebSocket('ws://127.0.0.1:${routerPort}/ws/terminal/box?session=evil');
        ws.onopen = () => ws.send(JSON.stringify({ type: 'input', data: 'echo pwned-$((6*7))\\n' }));
        ws.onmessage = (m) => {
          out.push(String(m.data));
          if (out.join('').includes('pwned-42')) resolve({ opened: true, output: out.join('') });
        };
        ws.onerror = () => resolve({ opened: false });
        ws.onclose = () => resolve({ opened: false, output: out.join('') });
      });
      </script>`,
    );
    const result = (await resultOf(`${evilOrigin}/`)) as { opened: boolean; output?: string };
    expect(result.opened).toBe(false);
    expect(result.output ?? '').not.toContain('pwned-42');
    expect((await sd.client.listTerminals()).map((t) => t.session)).not.toContain('evil');
  });

  it('cannot stop a sandbox or start an agent with simple cross-site POSTs (text/plain, form, no type)', async () => {
    evilPages.set(
      '/',
      `<script>
      const api = 'http://127.0.0.1:${routerPort}/api/v1/sandboxes';
      window.result = Promise.allSettled([
        fetch(api + '/box/stop', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }),
        fetch(api + '/box/invoke?detach=true', { method: 'POST', mode: 'no-cors', body: 'run this' }),
        // No body and no Content-Type: only the Origin check stands in the way.
        fetch(api + '/other/stop', { method: 'POST', mode: 'no-cors' }),
      ]).then(() => 'sent');
      </script>`,
    );
    expect(await resultOf(`${evilOrigin}/`)).toBe('sent');
    // A classic form post too (navigates the page, so it goes last).
    evilPages.set(
      '/form',
      `<form method="POST" action="http://127.0.0.1:${routerPort}/api/v1/sandboxes/box/stop" enctype="text/plain">
        <input name='{"a":"' value='"}'></form><script>document.forms[0].submit()</script>`,
    );
    const page = await context.newPage();
    const response = page.waitForResponse((r) => r.url().includes('/box/stop'));
    await page.goto(`${evilOrigin}/form`);
    expect([403, 415]).toContain((await response).status());
    expect(await wanted('box')).toBe('Running');
    expect(await wanted('other')).toBe('Running');
  });

  it('cannot read the API through a name it rebinds to 127.0.0.1 (browser and raw socket)', async () => {
    const page = await context.newPage();
    const res = await page.goto(`http://${REBIND_NAME}:${routerPort}/api/v1/sandboxes`);
    expect(res?.status()).toBe(421);
    expect(await page.content()).not.toContain('"box"');
    const raw = await rawRequest(
      routerPort,
      `GET /api/v1/sandboxes HTTP/1.1\r\nHost: ${REBIND_NAME}:${routerPort}\r\nConnection: close\r\n\r\n`,
    );
    expect(raw.status).toBe(421);
    expect(raw.body).not.toContain('"box"');
    const exec = await rawRequest(
      routerPort,
      `POST /api/v1/sandboxes/box/exec HTTP/1.1\r\nHost: ${REBIND_NAME}:${routerPort}\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{"command":["touch","/x"]}`,
    );
    expect(exec.status).toBe(421);
  });
});

describe('a frame with an opaque origin (Origin: null)', () => {
  // Red-team pass of issue 8: sandboxed iframes and data: URLs send `Origin: null`, which is foreign.
  const attempt = (routerPort: number, session: string) => `<script>
    const api = 'http://127.0.0.1:${routerPort}/api/v1/sandboxes';
    (async () => {
      const terminal = await new Promise((resolve) => {
        const ws = new WebSocket('ws://localhost:${routerPort}/ws/terminal/box?session=${session}');
        ws.onopen = () => resolve('opened');
        ws.onerror = () => resolve('refused');
      });
      const form = new FormData();
      form.append('command', 'id');
      const posts = await Promise.allSettled([
        fetch(api + '/box/stop', { method: 'POST', mode: 'no-cors', body: form }),
        fetch(api + '/other/stop', { method: 'POST', mode: 'no-cors', keepalive: true, body: new Blob(['{}']) }),
        fetch(api + '/box/exec', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"command":["id"]}' }),
      ]);
      parent.postMessage(JSON.stringify({ terminal, posts: posts.map((p) => p.status) }), '*');
    })();
  </script>`;
  const framed = (src: string) =>
    `${src}<script>window.result = new Promise((r) => { window.onmessage = (m) => r(JSON.parse(m.data)); });</script>`;

  for (const kind of ['sandboxed iframe', 'data: URL iframe'])
    it(`cannot open a terminal or stop a sandbox (${kind})`, async () => {
      const inner = attempt(routerPort, 'opaque');
      evilPages.set(
        '/',
        framed(
          kind === 'sandboxed iframe'
            ? `<iframe sandbox="allow-scripts" srcdoc="${inner.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"></iframe>`
            : `<iframe src="data:text/html;base64,${Buffer.from(inner).toString('base64')}"></iframe>`,
        ),
      );
      const result = (await resultOf(`${evilOrigin}/`)) as { terminal: string; posts: string[] };
      expect(result.terminal).toBe('refused');
      // All settled: the no-cors posts once their answer came (and was withheld: CORP), the JSON one
      // at its refused preflight.
      expect(result.posts).toEqual(['rejected', 'rejected', 'rejected']);
      expect(await wanted('box')).toBe('Running');
      expect(await wanted('other')).toBe('Running');
      expect((await sd.client.listTerminals()).map((t) => t.session)).not.toContain('opaque');
    });
});

describe('a page served by a sandbox through the preview', () => {
  beforeEach(async () => {
    const fwd = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes/box/ports',
      payload: { port: appPort },
    });
    expect(fwd.statusCode, fwd.body).toBe(201);
  });

  const previewUrl = () => `http://${appPort}-box--default.localhost:${routerPort}`;

  it('runs on its own origin and cannot list sandboxes, stop one or exec in another', async () => {
    appPages.set('/', {
      type: 'text/html',
      body: `<script>
      const settle = (p) => p.then(async (r) => ({ status: r.status, text: await r.text() }), (e) => ({ error: String(e) }));
      window.result = (async () => ({
        origin: location.origin,
        ownPath: await settle(fetch('/api/v1/sandboxes')),
        list: await settle(fetch('http://127.0.0.1:${routerPort}/api/v1/sandboxes')),
        exec: await settle(fetch('http://127.0.0.1:${routerPort}/api/v1/sandboxes/other/exec', {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: ['id'] }),
        })),
        // The API is reachable from here (an opaque answer, not a network error): the guards refuse.
        reachable: await settle(fetch('http://127.0.0.1:${routerPort}/healthz', { mode: 'no-cors' })),
        stop: await settle(fetch('http://127.0.0.1:${routerPort}/api/v1/sandboxes/other/stop', { method: 'POST', mode: 'no-cors' })),
        terminal: await new Promise((resolve) => {
          const ws = new WebSocket('ws://127.0.0.1:${routerPort}/ws/terminal/other?session=from-preview');
          ws.onopen = () => resolve('opened');
          ws.onerror = () => resolve('refused');
        }),
      }))();
      </script>`,
    });
    // Entered through the old path form: it only redirects to the preview's own origin.
    const result = (await resultOf(
      `http://127.0.0.1:${routerPort}/api/v1/sandboxes/box/preview/${appPort}/`,
    )) as Record<string, { status?: number; text?: string; error?: string } | string>;
    expect(result.origin).toBe(previewUrl());
    // Same-origin /api/… is the app's own path: the sandbox's app answered, not the API.
    expect(result.ownPath).toMatchObject({ status: 404, text: expect.stringContaining('app 404') });
    expect(result.reachable).toEqual({ status: 0, text: '' });
    for (const k of ['list', 'exec']) expect(result[k], k).toMatchObject({ error: expect.any(String) });
    expect(result.terminal).toBe('refused');
    expect(await wanted('other')).toBe('Running');
    expect((await sd.client.listTerminals()).map((t) => t.session)).not.toContain('from-preview');
  });

  it('cannot widen a service worker’s scope with Service-Worker-Allowed', async () => {
    appPages.set('/static/sw.js', {
      type: 'text/javascript',
      body: `self.addEventListener('fetch', (e) => e.respondWith(new Response('hijacked')));`,
      headers: { 'service-worker-allowed': '/' },
    });
    appPages.set('/', {
      type: 'text/html',
      body: `<script>
      window.result = navigator.serviceWorker
        .register('/static/sw.js', { scope: '/' })
        .then((r) => 'registered ' + r.scope, (e) => 'refused: ' + e.message);
      </script>`,
    });
    const result = String(await resultOf(`${previewUrl()}/`));
    expect(result).toMatch(/^refused: /);
    // And the API's origin has no service worker of anyone's.
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${routerPort}/healthz`);
    expect(await page.evaluate('navigator.serviceWorker.getRegistrations().then((r) => r.length)')).toBe(0);
  });

  // Red-team finding: a worker registered at a preview's own scope outlived its sandbox; after the
  // sandbox was deleted and another was created with its name, the old worker answered the new
  // sandbox's preview (the preview link's exchange included) in real Chromium against `agenttier up`.
  it('cannot register a service worker at all (it would outlive the sandbox its origin is named after)', async () => {
    appPages.set('/sw.js', {
      type: 'text/javascript',
      body: `self.addEventListener('fetch', (e) => e.respondWith(new Response('hijacked')));`,
    });
    appPages.set('/', {
      type: 'text/html',
      body: `<script>
      window.result = navigator.serviceWorker
        .register('/sw.js')
        .then(() => navigator.serviceWorker.ready)
        .then((r) => 'registered ' + r.scope, (e) => 'refused: ' + e.message);
      </script>`,
    });
    expect(String(await resultOf(`${previewUrl()}/`))).toMatch(/^refused: .*403/);
    // (A page of the origin that does not try again: a registration in flight would be listed.)
    const page = await context.newPage();
    await page.goto(`${previewUrl()}/no-script`);
    expect(await page.evaluate('navigator.serviceWorker.getRegistrations().then((r) => r.length)')).toBe(0);
    // The same script as a plain fetch still reaches the app: only worker script fetches are refused,
    // in the one error shape.
    const host = `${appPort}-box--default.localhost:${routerPort}`;
    const plain = await rawRequest(
      routerPort,
      `GET /sw.js HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    expect(plain.status).toBe(200);
    const worker = await rawRequest(
      routerPort,
      `GET /sw.js HTTP/1.1\r\nHost: ${host}\r\nService-Worker: script\r\nConnection: close\r\n\r\n`,
    );
    expect(worker.status).toBe(403);
    expect(worker.json).toMatchObject({ code: 'FORBIDDEN', requestId: expect.any(String) });
    expect(worker.json.message).toMatch(/service workers/);
  });
});
