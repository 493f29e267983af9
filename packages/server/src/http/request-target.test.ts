/**
 * Request targets that are not a plain path. HTTP/1.1 lets a client name the target in absolute form
 * (`GET http://host/api/v1/sandboxes`, what clients send to a proxy) or as `*`; the router is no
 * proxy, and a target that does not start with `/` once slipped past the authentication hook (which
 * looked at the path) while Fastify still routed it: unauthenticated exec in any sandbox. Every such
 * target is refused before routing, on every route, in the documented error shape.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { filledRoutes, startAuthTestApp } from '../testing/auth-app.ts';
import { rawRequest } from '../testing/raw-http.ts';

let t: AuthTestApp;
let port: number;

beforeAll(async () => {
  t = await startAuthTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
  const { key } = await t.issue('owner', true);
  const created = await t.call(key, 'POST', '/api/v1/sandboxes', {
    name: 'victim',
    template: 'general-coding',
  });
  expect(created.statusCode).toBe(201);
});

afterAll(async () => {
  await t.close();
});

function send(method: string, target: string, body = '') {
  const head = [
    `${method} ${target} HTTP/1.1`,
    'Host: localhost',
    'Connection: close',
    ...(body ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`] : []),
  ];
  return rawRequest(port, `${head.join('\r\n')}\r\n\r\n${body}`);
}

describe('request targets other than a path', () => {
  it('an absolute-form target without a key is refused on every route, never served', async () => {
    const routes = filledRoutes(t.app, 'victim');
    expect(routes.length).toBeGreaterThan(30);
    for (const { route, method, url } of routes) {
      for (const target of [`http://localhost${url}`, `https://127.0.0.1:1${url}`, `HTTP://x${url}`]) {
        const r = await send(
          method,
          target,
          method === 'GET' || method === 'DELETE' ? '' : '{"command":"id"}',
        );
        expect({ route, target, status: r.status }).toEqual({ route, target, status: 400 });
        expect(r.json).toMatchObject({ code: 'BAD_REQUEST', error: expect.any(String) });
        expect(r.json.requestId).toEqual(expect.any(String));
      }
    }
  });

  it('the exec that used to run unauthenticated through an absolute target is refused', async () => {
    const r = await send('POST', 'http://localhost/api/v1/sandboxes/victim/exec', '{"command":"id"}');
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/path/);
    // The same request as a path still meets authentication.
    const plain = await send('POST', '/api/v1/sandboxes/victim/exec', '{"command":"id"}');
    expect(plain.status).toBe(401);
  });

  it('a path whose /api/ prefix is %-escaped still meets authentication (the router decodes it, so must the guard)', async () => {
    for (const target of ['/%61pi/v1/sandboxes/victim/exec', '/ap%69/v1/sandboxes/victim/exec']) {
      const r = await send('POST', target, '{"command":"id"}');
      expect({ target, status: r.status }).toEqual({ target, status: 401 });
      expect(r.json).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  it('"*" and other targets that are no path get the same 400', async () => {
    for (const [method, target] of [
      ['GET', '*'],
      ['OPTIONS', '*'],
      ['GET', 'api/v1/sandboxes'],
    ] as const) {
      const r = await send(method, target);
      expect({ target, status: r.status, code: r.json?.code }).toEqual({
        target,
        status: 400,
        code: 'BAD_REQUEST',
      });
    }
  });
});
