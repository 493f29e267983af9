/**
 * Authorization: every route declares an access rule, and every sandbox route, WebSocket and preview
 * is tried as a stranger (404, as for a missing sandbox), the owner, an admin and a revoked key (401).
 * Real SQLite stores in memory; the app listens on a real port for the WebSocket and preview cases.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import { routeTableOf } from '../openapi.ts';
import { sandboxNotFound } from '../sandbox-service.ts';
import { requestWithHost } from '../testing/host-request.ts';
import { ROUTE_ACCESS } from './access-rules.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import type { AuthTestApp } from '../testing/auth-app.ts';

let t: AuthTestApp;
let app: FastifyInstance;
const key: Record<'admin' | 'alice' | 'mallory' | 'revoked', string> = {
  admin: '',
  alice: '',
  mallory: '',
  revoked: '',
};

beforeEach(async () => {
  // The revoked key fails on every route: the helper lifts the failure rate limit.
  t = await startAuthTestApp();
  app = t.app;
  key.admin = (await t.issue('admin', true)).key;
  key.alice = (await t.issue('alice', false)).key;
  key.mallory = (await t.issue('mallory', false)).key;
  const revoked = await t.issue('alice', false);
  key.revoked = revoked.key;
  const del = await app.inject({
    method: 'DELETE',
    url: `/api/v1/user/api-keys/${revoked.keyId}`,
    headers: { 'x-api-key': key.alice },
  });
  expect(del.statusCode).toBe(204);
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes',
    headers: { 'x-api-key': key.alice },
    payload: { name: 'alice-box', template: 'general-coding' },
  });
  expect(created.statusCode, created.body).toBe(201);
});
afterEach(async () => {
  await t.close();
});

const as = (who: keyof typeof key, method: string, url: string, payload?: unknown) =>
  t.call(key[who], method, url, payload);

function sandboxRoutes(): Array<{ method: string; url: string }> {
  return routeTableOf(app)
    .filter((r) => r.includes(' /api/v1/sandboxes/:id'))
    .map((r) => {
      const [method, url] = r.split(' ') as [string, string];
      const filled = url
        .replace(':id', 'alice-box')
        .replace(/:[a-zA-Z]+/g, '1')
        .replace(/\*$/, 'f');
      return { method, url: filled.includes('/fs/') ? `${filled}?path=/tmp` : filled };
    });
}

describe('every route declares its access rule', () => {
  it('the route table and ROUTE_ACCESS name the same routes', () => {
    const registered = routeTableOf(app).map((r) => r.replace(/^HEAD /, 'GET '));
    expect(registered.length).toBeGreaterThan(30);
    expect(registered.filter((r) => !ROUTE_ACCESS[r])).toEqual([]);
    expect(Object.keys(ROUTE_ACCESS).filter((r) => !registered.includes(r))).toEqual([]);
  });
});

describe("someone else's sandbox", () => {
  it('a stranger gets the missing-sandbox 404 on every sandbox route; a revoked key 401', async () => {
    const routes = sandboxRoutes();
    expect(routes.length).toBeGreaterThan(25);
    const missing = sandboxNotFound('default', 'alice-box').message;
    for (const { method, url } of routes) {
      const stranger = await as('mallory', method, url);
      expect([stranger.statusCode, stranger.json().code], `${method} ${url}`).toEqual([
        404,
        'SANDBOX_NOT_FOUND',
      ]);
      expect(stranger.json().message).toBe(missing);
      const revoked = await as('revoked', method, url);
      expect(revoked.statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('the owner and an admin get past the access check on every sandbox route', async () => {
    // Deleting goes last (after it, the sandbox is gone): the next test covers it.
    const routes = sandboxRoutes().filter(
      (r) => !(r.method === 'DELETE' && r.url === '/api/v1/sandboxes/alice-box'),
    );
    for (const { method, url } of routes) {
      for (const who of ['alice', 'admin'] as const) {
        const r = await as(who, method, url);
        expect(r.statusCode, `${who} ${method} ${url} ${r.body}`).not.toBe(401);
        expect(r.statusCode, `${who} ${method} ${url} ${r.body}`).not.toBe(403);
        if (r.statusCode === 404)
          expect(r.json().code, `${who} ${method} ${url}`).not.toBe('SANDBOX_NOT_FOUND');
      }
    }
  });

  it('lists show only what the caller may see', async () => {
    const names = async (who: keyof typeof key) =>
      (
        (await as(who, 'GET', '/api/v1/sandboxes')).json() as { sandboxes: Array<{ name: string }> }
      ).sandboxes.map((s) => s.name);
    expect(await names('alice')).toEqual(['alice-box']);
    expect(await names('mallory')).toEqual([]);
    expect(await names('admin')).toEqual(['alice-box']);
  });

  it('a stranger cannot delete it; the owner can', async () => {
    expect((await as('mallory', 'DELETE', '/api/v1/sandboxes/alice-box')).statusCode).toBe(404);
    expect((await as('alice', 'GET', '/api/v1/sandboxes/alice-box')).statusCode).toBe(200);
    expect((await as('alice', 'DELETE', '/api/v1/sandboxes/alice-box')).statusCode).toBe(204);
  });

  it('the terminal, the TCP tunnel and previews refuse a stranger like a missing sandbox', async () => {
    const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', 'localhost');
    const port = new URL(base).port;
    const wsStatus = (path: string, who: keyof typeof key) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, {
          headers: { 'x-api-key': key[who] },
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error(`${path} opened for ${who}`)));
        ws.on('error', reject);
      });
    for (const path of ['/ws/terminal/alice-box', '/ws/tcp/alice-box/8080']) {
      expect(await wsStatus(path, 'mallory'), path).toBe(404);
      // The owner gets past the check to the next one (the sandbox is not running).
      expect(await wsStatus(path, 'alice'), path).toBe(409);
    }
    const previewHost = `8080-alice-box--default.localhost:${port}`;
    const stranger = await requestWithHost(base, previewHost, '/', { headers: { 'x-api-key': key.mallory } });
    expect([stranger.status, stranger.json.code]).toEqual([404, 'SANDBOX_NOT_FOUND']);
    const owner = await requestWithHost(base, previewHost, '/', { headers: { 'x-api-key': key.alice } });
    expect(owner.status).not.toBe(404);
  });
});

describe('templates are admin-written', () => {
  it('users read templates but cannot write them; admins can', async () => {
    expect((await as('alice', 'GET', '/api/v1/templates')).statusCode).toBe(200);
    const body = { name: 'mine', spec: { image: { repository: 'busybox:1' } } };
    const refused = await as('alice', 'POST', '/api/v1/templates', body);
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'FORBIDDEN']);
    expect((await as('alice', 'PUT', '/api/v1/templates/general-coding', body)).statusCode).toBe(403);
    expect((await as('alice', 'DELETE', '/api/v1/templates/general-coding')).statusCode).toBe(403);
    expect((await as('admin', 'POST', '/api/v1/templates', body)).statusCode).toBe(201);
  });
});
