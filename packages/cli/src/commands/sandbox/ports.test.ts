import { connect } from 'node:net';
import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import { useTestServer } from '@agenttier/sdk/testing/use-test-server';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { runCli, startCli } from '../../testing/run-cli.ts';
import { parsePortPair } from './port-forward.ts';

const server = useTestServer();
const cli = (...argv: string[]) => runCli(argv, { url: server.url });
const base = '/api/v1/sandboxes/demo';
const view = (port: number, extra: Record<string, unknown> = {}) => ({
  port,
  protocol: 'http',
  previewUrl: `http://${port}-demo--team.localhost:${new URL(server.url).port}/`,
  internalUrl: `http://127.0.0.1:${port}`,
  ...extra,
});

describe('sandbox ports', () => {
  it('lists, forwards and removes', async () => {
    server.route(`GET ${base}/ports`, (_req, res) =>
      sendJson(res, 200, {
        ports: [view(8000, { listening: true }), view(9000, { protocol: 'tcp', listening: false })],
      }),
    );
    server.route(`POST ${base}/ports`, (req, res) => {
      expect(req.json()).toEqual({ port: 8000, protocol: 'http' });
      sendJson(res, 201, view(8000));
    });
    server.route(`DELETE ${base}/ports/8000`, (_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const list = await cli('sandbox', 'ports', 'list', 'demo');
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PORT\s+PROTOCOL\s+LISTENING\s+PREVIEW URL$/);
    expect(lines[1]).toMatch(/^8000\s+http\s+yes\s+http:\/\/8000-demo--team\.localhost:\d+\/$/);
    expect(lines[2]).toMatch(/^9000\s+tcp\s+no\s+/);
    const fwd = await cli('sandbox', 'ports', 'forward', 'demo', '8000');
    expect(fwd.stdout).toContain(`Preview URL:  ${view(8000).previewUrl}`);
    expect(fwd.stderr).toContain('agenttier sandbox port-forward demo 8000');
    const json = await cli('sandbox', 'ports', 'forward', 'demo', '8000', '-o', 'json');
    expect(JSON.parse(json.stdout)).toEqual(view(8000));
    const rm = await cli('sandbox', 'ports', 'rm', 'demo', '8000');
    expect(rm.stderr).toContain('Port 8000 of demo is no longer forwarded.');
    const bad = await cli('sandbox', 'ports', 'forward', 'demo', '70000');
    expect(bad.code).toBe(2);
  });

  it('prints a single-use preview link (`sandbox port preview`)', async () => {
    const link = {
      url: `http://3000-demo--default.localhost:${new URL(server.url).port}/__agenttier/preview-session?token=abc`,
      expiresAt: '2026-12-06T04:00:00.000Z',
      previewUrl: `http://3000-demo--default.localhost:${new URL(server.url).port}/`,
    };
    const bodies: unknown[] = [];
    server.route(`POST ${base}/ports/3000/preview-link`, (req, res) => {
      bodies.push(req.json());
      sendJson(res, 201, link);
    });
    const r = await cli('sandbox', 'port', 'preview', 'demo', '3000', '--path', '/app');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(link.url);
    expect(r.stderr).toContain('Single use');
    const json = await cli('sandbox', 'ports', 'preview', 'demo', '3000', '-o', 'json');
    expect(JSON.parse(json.stdout)).toEqual(link);
    expect(bodies).toEqual([{ path: '/app' }, {}]);
    expect((await cli('sandbox', 'port', 'preview', 'demo', '0')).code).toBe(2);
  });
});

describe('parsePortPair', () => {
  it('reads PORT, LOCAL:REMOTE and :REMOTE', () => {
    expect(parsePortPair('8000')).toEqual({ local: 8000, remote: 8000 });
    expect(parsePortPair('18000:8000')).toEqual({ local: 18000, remote: 8000 });
    expect(parsePortPair(':8000')).toEqual({ local: 0, remote: 8000 });
    expect(() => parsePortPair('8000:')).toThrow(/LOCAL:REMOTE/);
    expect(() => parsePortPair('a:b')).toThrow(/LOCAL:REMOTE/);
    expect(() => parsePortPair('1:0')).toThrow(/between 1 and 65535/);
  });
});

function sandboxRunning(phase = 'Running') {
  server.route(`GET ${base}`, (_req, res) => sendJson(res, 200, sandboxView('demo', phase)));
}

describe('sandbox port-forward', () => {
  it('carries raw TCP over /ws/tcp, including bytes the server sends first', async () => {
    sandboxRunning();
    const wss = new WebSocketServer({ noServer: true });
    let tunnels = 0;
    server.upgrade('GET /ws/tcp/demo/5432', (req, { req: raw, socket, head }) => {
      expect(req.headers['x-api-key']).toBe('atk_pf');
      wss.handleUpgrade(raw, socket, head, (ws) => {
        tunnels++;
        ws.send(Buffer.from('HELLO\n'));
        ws.on('message', (d) => ws.send(Buffer.concat([Buffer.from('echo:'), d as Buffer])));
      });
    });
    const pf = startCli(['sandbox', 'port-forward', 'demo', ':5432'], {
      url: server.url,
      env: { AGENTTIER_API_KEY: 'atk_pf' },
    });
    const m = await pf.waitFor(/Forwarding 127\.0\.0\.1:(\d+) -> demo:5432 \(raw TCP\)/);
    const port = Number(m[1]);
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    await new Promise((r) => sock.once('connect', r));
    await waitUntil(() => got === 'HELLO\n');
    sock.write('ping');
    await waitUntil(() => got === 'HELLO\necho:ping');
    sock.destroy();
    expect(tunnels).toBe(2); // the probe, then the connection
    pf.abort();
    expect(await pf.done).toBe(0);
    expect(pf.stderr.text).toContain('Stopped forwarding.');
    wss.close();
  });

  it('falls back to an HTTP/WebSocket reverse proxy through the preview URL when /ws/tcp is missing', async () => {
    sandboxRunning();
    server.route(`POST ${base}/ports`, (req, res) => {
      expect(req.query.get('namespace')).toBe('team');
      sendJson(res, 201, view(8000));
    });
    // The preview lives on its own origin; the router tells it apart by Host alone.
    server.route(`POST /api/echo`, (req, res) => {
      res.writeHead(201, { 'content-type': 'text/plain', location: 'http://127.0.0.1:8000/next' });
      res.end(
        `${req.method} ${req.path} q=${req.query.get('q')} ns=${req.query.get('namespace')} key=${String(req.headers['x-api-key'])} host=${String(req.headers.host)} body=${req.body.toString()}`,
      );
    });
    const wss = new WebSocketServer({ noServer: true });
    server.upgrade(`GET /socket`, (_req, { req: raw, socket, head }) =>
      wss.handleUpgrade(raw, socket, head, (ws) => ws.on('message', (d) => ws.send(`echo:${String(d)}`))),
    );
    const pf = startCli(['sandbox', 'port-forward', 'demo', '0:8000', '-n', 'team', '-o', 'json'], {
      url: server.url,
      env: { AGENTTIER_API_KEY: 'atk_pf' },
    });
    await pf.waitFor(/"localPort": \d+/, 'stdout');
    const info = JSON.parse(pf.stdout.text) as { localPort: number; mode: string; url: string };
    expect(info.mode).toBe('http');

    const res = await fetch(`${info.url}/api/echo?q=1`, { method: 'POST', body: 'payload' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${info.url}/next`);
    const host = new URL(view(8000).previewUrl).host;
    expect(await res.text()).toBe(`POST /api/echo q=1 ns=null key=atk_pf host=${host} body=payload`);

    const ws = new WebSocket(`${info.url.replace('http', 'ws')}/socket`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('hi');
    expect(await reply).toBe('echo:hi');
    ws.close();

    pf.abort();
    expect(await pf.done).toBe(0);
    // The probe of /ws/tcp was refused (no such route here): that is how the fallback was chosen.
    expect(server.unhandled).toEqual(['UPGRADE GET /ws/tcp/demo/8000']);
    server.unhandled.length = 0;
    wss.close();
  });

  it('refuses a stopped sandbox and a busy local port', async () => {
    server.route('GET /api/v1/sandboxes/off', (_req, res) =>
      sendJson(res, 200, sandboxView('off', 'Stopped')),
    );
    const off = await cli('sandbox', 'port-forward', 'off', '8000');
    expect(off.code).toBe(4);
    expect(off.stderr).toContain('sandbox "off" is not running (phase Stopped)');

    sandboxRunning();
    server.route(`POST ${base}/ports`, (_req, res) => sendJson(res, 201, view(8000)));
    const first = startCli(['sandbox', 'port-forward', 'demo', '0:8000', '--mode', 'http'], {
      url: server.url,
    });
    const m = await first.waitFor(/Forwarding http:\/\/127\.0\.0\.1:(\d+)/);
    const busy = await cli('sandbox', 'port-forward', 'demo', `${m[1]}:8000`, '--mode', 'http');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`local port ${m[1]} on 127.0.0.1 is already in use`);
    first.abort();
    await first.done;
  });
});

async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
