/**
 * The router's WebSocket and preview paths against a real sandboxd running on the host
 * (startLocalSandboxd: no container, so "127.0.0.1:PORT inside the sandbox" is the host's loopback).
 * The app listens on a real port; the store is SQLite in memory; no controller runs.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import WebSocket, { WebSocketServer } from 'ws';
import type { SqliteStore } from '@agenttier/platform-local';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import type { FastifyInstance } from 'fastify';
import { requestWithHost } from '../testing/host-request.ts';
import { previewRequestHeaders, previewResponseHeaders, previewSetCookies } from './preview-proxy.ts';
import { terminalCloseFrameFor } from './upgrades.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';
import { createHostShellTemplate, createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { closeServer, listenOnLoopback } from '../testing/loopback-server.ts';

const SECRETS = { 'x-api-key': 'key-123', authorization: 'Bearer jwt-456' };
/** The router's own cookies go; the previewed app's cookie (its login session) stays. */
const COOKIES = { cookie: 'agenttier_session=789; app_session=abc' };

let sd: LocalSandboxd;
/** An HTTP + WebSocket server "inside the sandbox" that answers with the headers it received. */
let echo: Server;
let echoPort: number;

beforeAll(async () => {
  sd = await startLocalSandboxd();
  echo = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  const wss = new WebSocketServer({ server: echo });
  wss.on('connection', (ws, req) => ws.send(JSON.stringify({ url: req.url, headers: req.headers })));
  echoPort = await listenOnLoopback(echo);
}, 300_000);

afterAll(async () => {
  await closeServer(echo);
  await sd?.stop();
});

let store: SqliteStore;
let app: FastifyInstance;
let base: string;
let closed = false;

beforeEach(async () => {
  store = await seededStore();
  app = createBareApp(store, {
    sandboxdFor: () => sd.client,
  });
  closed = false;
  base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', 'localhost');
  await createHostShellTemplate(app, sd.workspace);
});

afterEach(async () => {
  if (!closed) await app.close();
  await store.close();
});

const runningSandbox = (name: string, namespace = 'default') =>
  createRunningSandbox(app, store, { name, namespace, startedAt: '2026-03-01T12:00:00Z' });

function openWs(path: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, { headers });
  ws.on('error', () => undefined); // refusals are asserted through `open`
  const messages: string[] = [];
  ws.on('message', (m) => messages.push(m.toString()));
  const closedP = new Promise<{ code: number }>((resolve) => ws.once('close', (code) => resolve({ code })));
  const open = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, closed: closedP, open };
}

describe('closing the server', () => {
  it('ends open terminals, TCP tunnels and proxied WebSockets, so close() resolves', async () => {
    await runningSandbox('box');
    await app.inject({ method: 'POST', url: '/api/v1/sandboxes/box/ports', payload: { port: echoPort } });
    const term = openWs('/ws/terminal/box?session=closing');
    const tcp = openWs(`/ws/tcp/box/${echoPort}`);
    const preview = openWs('/ws', { host: previewHost('box') });
    await Promise.all([term.open, tcp.open, preview.open]);
    term.ws.send(JSON.stringify({ type: 'input', data: 'echo ready-$((6*7))\n' }));
    await eventually(
      () => (term.messages.join('').includes('ready-42') ? true : undefined),
      'terminal output',
    );

    await app.close();
    closed = true;
    await Promise.all([term.closed, tcp.closed, preview.closed]);
    // The shell of a named session outlives its viewer (it belongs to sandboxd, not to the router).
    expect((await sd.client.listTerminals()).map((t) => t.session)).toContain('closing');
    await sd.client.killTerminal('closing');
  });
});

/** The preview Host of a sandbox port on this router (`{port}-{name}--{ns}.localhost:{routerPort}`). */
function previewHost(name: string, namespace = 'default', port = echoPort): string {
  return `${port}-${name}--${namespace}.localhost:${new URL(base).port}`;
}

describe('the preview proxy', () => {
  it('serves a preview on its own origin and does not pass the caller’s credentials in (HTTP)', async () => {
    await runningSandbox('box');
    await app.inject({ method: 'POST', url: '/api/v1/sandboxes/box/ports', payload: { port: echoPort } });
    const res = await requestWithHost(base, previewHost('box'), '/p?x=1', {
      headers: { ...SECRETS, ...COOKIES, 'x-custom': 'kept' },
    });
    expect(res.status, res.text).toBe(200);
    const seen = res.json as { url: string; headers: IncomingHttpHeaders };
    expect(seen.url).toBe('/p?x=1');
    expect(seen.headers).toMatchObject({
      'x-custom': 'kept',
      host: `127.0.0.1:${echoPort}`,
      cookie: 'app_session=abc',
    });
    for (const h of Object.keys(SECRETS)) expect(seen.headers).not.toHaveProperty(h);
  });

  it('does not pass the caller’s credentials into the sandbox (WebSocket)', async () => {
    await runningSandbox('box');
    await app.inject({ method: 'POST', url: '/api/v1/sandboxes/box/ports', payload: { port: echoPort } });
    const c = openWs(`/socket?y=2`, {
      ...SECRETS,
      host: previewHost('box'),
      cookie: 'agenttier_session=789',
      'x-custom': 'kept',
    });
    await c.open;
    const first = await eventually(() => c.messages[0], 'the echo');
    const seen = JSON.parse(first) as { url: string; headers: IncomingHttpHeaders };
    expect(seen.url).toBe('/socket?y=2');
    expect(seen.headers['x-custom']).toBe('kept');
    for (const h of [...Object.keys(SECRETS), 'cookie']) expect(seen.headers).not.toHaveProperty(h);
    c.ws.close();
  });

  it('returns a previewUrl on the preview origin, also outside the default namespace', async () => {
    await runningSandbox('box', 'team-a');
    const fwd = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes/box/ports?namespace=team-a',
      payload: { port: echoPort },
    });
    expect(fwd.statusCode, fwd.body).toBe(201);
    const { previewUrl } = fwd.json() as { previewUrl: string };
    expect(previewUrl).toBe(`http://${previewHost('box', 'team-a')}/`);
    const res = await requestWithHost(base, new URL(previewUrl).host, '/static/app.js');
    expect(res.status).toBe(200);
    expect((res.json as { url: string }).url).toBe('/static/app.js');
    const list = await app.inject({ method: 'GET', url: '/api/v1/sandboxes/box/ports?namespace=team-a' });
    expect((list.json() as { ports: { previewUrl: string }[] }).ports[0]!.previewUrl).toBe(previewUrl);
    // Names with "--" get the escaped label form and reach their own app, not another sandbox's.
    await runningSandbox('a--b');
    const odd = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes/a--b/ports',
      payload: { port: echoPort },
    });
    const oddUrl = (odd.json() as { previewUrl: string }).previewUrl;
    expect(oddUrl).toMatch(new RegExp(`^http://${echoPort}--a-1-1b--default\\.localhost:`));
    const oddRes = await requestWithHost(base, new URL(oddUrl).host, '/x');
    expect(oddRes.status, oddRes.text).toBe(200);
    expect((oddRes.json as { url: string }).url).toBe('/x');
  });

  it('answers the old path form only with a redirect to the preview origin, never with sandbox content', async () => {
    await runningSandbox('box', 'team-a');
    await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes/box/ports?namespace=team-a',
      payload: { port: echoPort },
    });
    const res = await fetch(`${base}/api/v1/sandboxes/box/preview/${echoPort}/a/b?namespace=team-a&x=1`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(`http://${previewHost('box', 'team-a')}/a/b?x=1`);
    expect(await res.text()).toBe('');
    // A WebSocket cannot follow a redirect: it is refused with the new address in the message.
    const ws = openWs(`/api/v1/sandboxes/box/preview/${echoPort}/live?namespace=team-a`);
    await expect(ws.open).rejects.toThrow(/404/);
  });

  it('routes every path of a preview host to the sandbox: the preview origin cannot reach the API', async () => {
    await runningSandbox('box');
    await app.inject({ method: 'POST', url: '/api/v1/sandboxes/box/ports', payload: { port: echoPort } });
    for (const path of ['/api/v1/sandboxes', '/healthz', '/ws/terminal/box']) {
      const res = await requestWithHost(base, previewHost('box'), path);
      expect(res.status).toBe(200);
      expect((res.json as { url: string }).url).toBe(path); // the app inside answered, not the API
    }
    const term = openWs('/ws/terminal/box', { host: previewHost('box') });
    await term.open; // the sandbox's own WebSocket server accepted it: no terminal was opened
    expect(JSON.parse(await eventually(() => term.messages[0], 'the echo')).url).toBe('/ws/terminal/box');
    term.ws.close();
    // A host under the preview domain that names no sandbox port is not the API either.
    const stray = await requestWithHost(base, `nothing.localhost:${new URL(base).port}`, '/api/v1/sandboxes');
    expect(stray.status).toBe(404);
    expect(stray.json).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('takes state-changing requests and WebSockets only from its own sandbox’s previews, not other sites', async () => {
    await runningSandbox('box');
    await runningSandbox('other');
    for (const name of ['box', 'other'])
      await app.inject({
        method: 'POST',
        url: `/api/v1/sandboxes/${name}/ports`,
        payload: { port: echoPort },
      });
    const post = (origin?: string) =>
      requestWithHost(base, previewHost('box'), '/submit', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
        body: 'a=1',
      });
    const routerPort = new URL(base).port;
    // Its own origin, another port of the same sandbox (front end → back end), and no Origin (not a browser).
    for (const origin of [
      `http://${previewHost('box')}`,
      `http://3000-box--default.localhost:${routerPort}`,
      undefined,
    ]) {
      const ok = await post(origin);
      expect(ok.status, String(origin)).toBe(200);
      expect((ok.json as { url: string }).url).toBe('/submit'); // the app answered
    }
    for (const origin of [
      'https://evil.example',
      'null',
      `http://${previewHost('other')}`, // another sandbox's preview
      `http://${previewHost('box', 'team-a')}`, // same name, another namespace
      base, // the API's own origin is not the preview's
    ]) {
      const refused = await post(origin);
      expect(refused.status, origin).toBe(403);
      expect(refused.json).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED' });
    }
    // Reading (GET) is the browser's same-origin policy's business, not a state change.
    expect(
      (await requestWithHost(base, previewHost('box'), '/', { headers: { origin: 'https://evil.example' } }))
        .status,
    ).toBe(200);
    const ws = openWs('/socket', { host: previewHost('box'), origin: 'https://evil.example' });
    await expect(ws.open).rejects.toThrow(/403/);
    const own = openWs('/socket', { host: previewHost('box'), origin: `http://${previewHost('box')}` });
    await own.open;
    own.ws.close();
  });

  it('keeps cookies on the preview host and refuses the router’s cookie names', () => {
    expect(
      previewSetCookies([
        'sid=1; Path=/; Domain=localhost; HttpOnly',
        'agenttier_session=evil; Path=/',
        'AgentTier_x=x',
        'pref=dark',
        'admin=1; path=/admin; domain; Secure',
      ]),
    ).toEqual(['sid=1; Path=/; HttpOnly', 'pref=dark', 'admin=1; path=/admin; Secure']);
    expect(previewSetCookies(undefined)).toEqual([]);
  });

  it('drops response headers that widen the preview’s reach beyond its origin', () => {
    expect(
      previewResponseHeaders({
        'content-type': 'text/html',
        'service-worker-allowed': '/',
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'access-control-allow-private-network': 'true',
        'clear-site-data': '"cookies"',
        'alt-svc': 'h2=":9999"',
        'set-cookie': ['s=1; Domain=localhost'],
        connection: 'close',
      }),
    ).toEqual({ 'content-type': 'text/html', 'set-cookie': ['s=1'] });
  });

  it('filters headers: credentials, host and hop-by-hop go, the rest stays', () => {
    expect(
      previewRequestHeaders({
        ...SECRETS,
        cookie: 'agenttier_session=1; AgentTier_x=2',
        host: 'router:8080',
        connection: 'keep-alive',
        'proxy-authorization': 'Basic x',
        accept: 'text/html',
        'x-forwarded-for': '127.0.0.1',
      }),
    ).toEqual({ accept: 'text/html', 'x-forwarded-for': '127.0.0.1' });
  });
});

describe('terminal close frames', () => {
  it('keeps sandboxd’s reasons for viewers of a named session and uses the reference’s for others', () => {
    const ended = { type: 'close', reason: 'session_ended', exitCode: 3, signal: null };
    expect(terminalCloseFrameFor(ended, true)).toBe(ended);
    expect(terminalCloseFrameFor(ended, false)).toEqual({ ...ended, reason: 'session_expired' });
    expect(terminalCloseFrameFor({ type: 'close', reason: 'session_killed' }, false)).toEqual({
      type: 'close',
      reason: 'session_expired',
    });
    const stopped = { type: 'close', reason: 'sandbox_stopped' };
    expect(terminalCloseFrameFor(stopped, false)).toBe(stopped);
    expect(terminalCloseFrameFor({ type: 'close', reason: 'something_new' }, false)).toEqual({
      type: 'close',
      reason: 'error',
    });
  });

  it('relays the shell’s end to a viewer of the reference’s web UI (no session named) in its vocabulary', async () => {
    await runningSandbox('box');
    const seed = openWs('/ws/terminal/box');
    const ours = openWs('/ws/terminal/box?session=named');
    await Promise.all([seed.open, ours.open]);
    seed.ws.send(JSON.stringify({ type: 'input', data: 'exit 3\n' }));
    ours.ws.send(JSON.stringify({ type: 'input', data: 'exit 4\n' }));
    await Promise.all([seed.closed, ours.closed]);
    const closeOf = (msgs: string[]) =>
      msgs.map((m) => JSON.parse(m) as { type: string }).find((f) => f.type === 'close');
    expect(closeOf(seed.messages)).toMatchObject({ reason: 'session_expired', exitCode: 3 });
    expect(closeOf(ours.messages)).toMatchObject({ reason: 'session_ended', exitCode: 4 });
  });
});
