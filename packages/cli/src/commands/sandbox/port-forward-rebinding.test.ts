/**
 * DNS rebinding against `agenttier sandbox port-forward`, in real Chromium: a page whose name the
 * attacker points at 127.0.0.1 (`--host-resolver-rules`) opens the forwarded port. Before the Host gate
 * (forward-host-gate.ts) it read the app in the sandbox through both modes (red team, against
 * `agenttier up`); now it gets 421 and the sandbox gets no byte, while loopback names still work.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { eventually } from '@agenttier/testkit';
import { launchChromium } from '@agenttier/testkit/browser';
import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import { useTestServer } from '@agenttier/sdk/testing/use-test-server';
import { startCli } from '../../testing/run-cli.ts';
import { gateFirstBytes, isLoopbackHost } from './forward-host-gate.ts';

const REBIND = 'rebind.attacker.test';
const APP_PAGE = '<h1>the app in the sandbox</h1>';
const server = useTestServer();
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium({
    hostResolverRules: `MAP ${REBIND} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1`,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** What Chromium shows for `url`: the status and whether the app's page is in it. */
async function open(url: string): Promise<{ status: number | undefined; app: boolean }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const res = await page.goto(url);
    return { status: res?.status(), app: (await page.content()).includes(APP_PAGE) };
  } finally {
    await context.close();
  }
}

function sandboxRunning(): void {
  server.route('GET /api/v1/sandboxes/demo', (_req, res) =>
    sendJson(res, 200, sandboxView('demo', 'Running')),
  );
}

describe('sandbox port-forward against a DNS-rebinding page', () => {
  it('raw TCP mode: the rebound name gets 421 and the sandbox no byte; loopback names and other protocols pass', async () => {
    sandboxRunning();
    const reached: string[] = [];
    const wss = new WebSocketServer({ noServer: true });
    server.upgrade('GET /ws/tcp/demo/8000', (_req, { req: raw, socket, head }) =>
      wss.handleUpgrade(raw, socket, head, (ws) =>
        ws.on('message', (d) => {
          const text = (d as Buffer).toString('latin1');
          reached.push(text);
          if (text.startsWith('GET '))
            ws.send(
              Buffer.from(
                `HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${APP_PAGE.length}\r\n\r\n${APP_PAGE}`,
              ),
            );
          else ws.send(Buffer.concat([Buffer.from('echo:'), d as Buffer]));
        }),
      ),
    );
    const pf = startCli(['sandbox', 'port-forward', 'demo', '0:8000'], { url: server.url });
    const port = Number((await pf.waitFor(/Forwarding 127\.0\.0\.1:(\d+) -> demo:8000 \(raw TCP\)/))[1]);

    expect(await open(`http://${REBIND}:${port}/`)).toEqual({ status: 421, app: false });
    expect(reached.filter((r) => r.includes(REBIND))).toEqual([]);
    for (const host of ['127.0.0.1', 'localhost'])
      expect(await open(`http://${host}:${port}/`), host).toEqual({ status: 200, app: true });

    // Not HTTP (a database's or SSH's first bytes): carried as they are.
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.write('SSH-2.0-client\r\n');
    await eventually(async () => (got === 'echo:SSH-2.0-client\r\n' ? true : undefined), 'the echo', 10_000);
    sock.destroy();

    pf.abort();
    expect(await pf.done).toBe(0);
    wss.close();
  }, 60_000);

  it('HTTP mode: the rebound name gets 421 before anything is sent on; loopback names pass', async () => {
    sandboxRunning();
    const port = new URL(server.url).port;
    server.route('POST /api/v1/sandboxes/demo/ports', (_req, res) =>
      sendJson(res, 201, {
        port: 8000,
        protocol: 'http',
        previewUrl: `http://8000-demo--default.localhost:${port}/`,
        internalUrl: 'http://127.0.0.1:8000',
      }),
    );
    let served = 0;
    server.route('GET /', (_req, res) => {
      served++;
      res.writeHead(200, { 'content-type': 'text/html' }).end(APP_PAGE);
    });
    const pf = startCli(['sandbox', 'port-forward', 'demo', '0:8000', '--mode', 'http'], { url: server.url });
    const local = Number((await pf.waitFor(/Forwarding http:\/\/127\.0\.0\.1:(\d+) -> demo:8000/))[1]);

    expect(await open(`http://${REBIND}:${local}/`)).toEqual({ status: 421, app: false });
    expect(served).toBe(0);
    expect(await open(`http://127.0.0.1:${local}/`)).toEqual({ status: 200, app: true });
    expect(served).toBeGreaterThan(0);

    pf.abort();
    expect(await pf.done).toBe(0);
    server.unhandled.length = 0; // the /ws/tcp probe that chose HTTP mode elsewhere
  }, 60_000);
});

describe('the Host gate', () => {
  it('tells loopback names from others', () => {
    for (const ok of [
      'localhost',
      'localhost:8000',
      'LOCALHOST.:1',
      '127.0.0.1:80',
      '127.1.2.3',
      '[::1]:9',
      'app.localhost',
    ])
      expect(isLoopbackHost(ok), ok).toBe(true);
    for (const bad of [
      undefined,
      '',
      'evil.example',
      'localhost.evil.example',
      '127.0.0.1.evil',
      '0.0.0.0',
      '127.1',
      '[::ffff:127.0.0.1]',
      '127.0.0.256',
      'a@localhost',
    ])
      expect(isLoopbackHost(bad), String(bad)).toBe(false);
  });

  it('decides from a connection’s first bytes', () => {
    const v = (s: string) => gateFirstBytes(Buffer.from(s, 'latin1')).kind;
    expect(v('GE')).toBe('more');
    expect(v('GET / HTTP/1.1\r\nHost: localhost:1\r\n')).toBe('more');
    expect(v('GET / HTTP/1.1\r\nHost: localhost:1\r\n\r\n')).toBe('pass');
    expect(v('GET / HTTP/1.1\r\nHost: evil.example:1\r\n\r\n')).toBe('refuse');
    expect(v('GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n')).toBe('refuse');
    expect(v('GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n')).toBe('refuse');
    expect(v(`GET / HTTP/1.1\r\nX: ${'a'.repeat(20_000)}`)).toBe('refuse');
    expect(v('\x00\x00\x00\x08\x04\xd2\x16\x2f')).toBe('pass'); // a PostgreSQL SSL request
    expect(v('PING\r\n')).toBe('pass');
    expect(v('SET k v\r\n')).toBe('pass');
  });
});
