/**
 * Attack: the app in a sandbox answers a preview WebSocket handshake with headers the HTTP path would
 * drop. The handshake answer used to be relayed byte for byte, so `Set-Cookie: …; Domain=localhost`
 * (a cookie on the API's host and every other preview, HttpOnly so no script of the user's could even
 * see it), a cookie named like the router's and scope-widening headers reached the browser.
 * Real sandboxd on the host (startLocalSandboxd), real sockets, the app as a raw TCP server.
 */
import { createHash } from 'node:crypto';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '@agenttier/platform-local';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import type { FastifyInstance } from 'fastify';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';
import { createHostShellTemplate, createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { listenOnLoopback } from '../testing/loopback-server.ts';

/** One unmasked text frame, as a server sends it. */
const FRAME = Buffer.concat([Buffer.from([0x81, 18]), Buffer.from('hello from the app')]);
/** What the hostile app adds to its handshake headers. */
let extraHeaders: string[] = [];
let sd: LocalSandboxd;
let hostile: Server;
let hostilePort: number;

beforeAll(async () => {
  sd = await startLocalSandboxd();
  hostile = createServer((sock) => {
    let buf = '';
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(buf.slice(0, end))?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC11B85`).digest('base64');
      sock.write(
        [
          'HTTP/1.1 101 Switching Protocols',
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Accept: ${accept}`,
          ...extraHeaders,
          '',
          '',
        ].join('\r\n'),
      );
      // A frame right behind the head: the bytes after the handshake are the app's.
      sock.write(FRAME);
    });
  });
  hostilePort = await listenOnLoopback(hostile);
}, 300_000);

afterAll(async () => {
  await new Promise((r) => hostile?.close(r));
  await sd?.stop();
});

let store: SqliteStore;
let app: FastifyInstance;
let routerPort: number;

beforeEach(async () => {
  store = await seededStore();
  app = createBareApp(store, {
    sandboxdFor: () => sd.client,
  });
  routerPort = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
  await createHostShellTemplate(app, sd.workspace);
  await createRunningSandbox(app, store, { name: 'box', startedAt: '2026-03-01T12:00:00Z' });
  const fwd = await app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes/box/ports',
    payload: { port: hostilePort },
  });
  expect(fwd.statusCode, fwd.body).toBeLessThan(300);
});

afterEach(async () => {
  await app.close();
  await store.close();
});

/**
 * Sends the handshake a browser on the preview's own origin sends, over a raw socket (so nothing
 * client-side hides what the router relayed), and resolves with the answer's status, its headers
 * (lower-case names, repeated ones in order) and the bytes after its head.
 */
function handshake(): Promise<{ status: number; headers: [string, string][]; after: Buffer }> {
  const host = `${hostilePort}-box--default.localhost:${routerPort}`;
  return new Promise((resolve, reject) => {
    const sock = connect(routerPort, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let head: { status: number; headers: [string, string][]; end: number } | undefined;
    const finish = () => {
      if (!head) return reject(new Error(`no answer head: ${buf.toString('latin1').slice(0, 200)}`));
      resolve({ status: head.status, headers: head.headers, after: buf.subarray(head.end) });
      sock.destroy();
    };
    sock.on('error', reject);
    sock.on('close', finish);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (!head && end >= 0) {
        const [status = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
        head = {
          status: Number(status.split(' ')[1]),
          end: end + 4,
          headers: lines.map((l) => [
            l.slice(0, l.indexOf(':')).toLowerCase(),
            l.slice(l.indexOf(':') + 1).trim(),
          ]),
        };
      }
      if (head && (head.status !== 101 || buf.length >= head.end + FRAME.length)) finish();
    });
    sock.write(
      [
        'GET /socket HTTP/1.1',
        `Host: ${host}`,
        `Origin: http://${host}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        '',
        '',
      ].join('\r\n'),
    );
  });
}

describe('a preview WebSocket handshake answer from a hostile app', () => {
  it('loses Set-Cookie Domain, the router’s cookie names and scope-widening headers', async () => {
    extraHeaders = [
      'Set-Cookie: tossed=1; Domain=localhost; Path=/; HttpOnly',
      'Set-Cookie: agenttier_session=forged; Path=/',
      'Service-Worker-Allowed: /',
      'Access-Control-Allow-Origin: https://evil.example',
      'Clear-Site-Data: "cookies"',
      'X-App: kept',
    ];
    const r = await handshake();
    expect(r.status).toBe(101);
    expect(r.after.subarray(0, FRAME.length)).toEqual(FRAME);
    const names = r.headers.map(([k]) => k);
    expect(r.headers.filter(([k]) => k === 'set-cookie')).toEqual([
      ['set-cookie', 'tossed=1; Path=/; HttpOnly'],
    ]);
    expect(r.headers).toContainEqual(['x-app', 'kept']);
    expect(r.headers).toContainEqual(['upgrade', 'websocket']);
    for (const h of ['service-worker-allowed', 'access-control-allow-origin', 'clear-site-data'])
      expect(names).not.toContain(h);
  });

  it('is refused with a 502 when the app sends endless handshake headers', async () => {
    extraHeaders = Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: ${'a'.repeat(40)}`);
    const r = await handshake();
    expect(r.status).toBe(502);
    expect(r.headers.map(([k]) => k)).not.toContain('x-filler-1999');
  });
});
