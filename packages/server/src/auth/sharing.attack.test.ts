/**
 * Sharing a sandbox as viewer or operator, tried as the attacker in each role: every sandbox route
 * (walked from the route table) is tried as a viewer, an operator and a stranger; a viewer never
 * executes, writes or types in a terminal, an operator never deletes, changes or re-shares, a stranger
 * still sees no sandbox at all, and revoking a share takes effect on the next request.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LightMyRequestResponse } from 'fastify';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { filledRoutes, startAuthTestApp } from '../testing/auth-app.ts';
import { accessRuleOf } from './access-rules.ts';

let t: AuthTestApp;
const k = { alice: '', vera: '', otto: '', mallory: '' };

const refused = (r: LightMyRequestResponse) =>
  (r.statusCode === 403 && r.json().code === 'FORBIDDEN') ||
  (r.statusCode === 404 && r.json().code === 'SANDBOX_NOT_FOUND');

beforeEach(async () => {
  t = await startAuthTestApp();
  for (const who of Object.keys(k) as Array<keyof typeof k>) k[who] = (await t.issue(who)).key;
  const r = await t.call(k.alice, 'POST', '/api/v1/sandboxes', { name: 'box', template: 'general-coding' });
  expect(r.statusCode, r.body).toBe(201);
  for (const [user, role] of [
    ['vera', 'viewer'],
    ['otto', 'operator'],
  ] as const) {
    const s = await t.call(k.alice, 'PUT', `/api/v1/sandboxes/box/shares/${user}`, { role });
    expect([s.statusCode, s.json().role], s.body).toEqual([200, role]);
  }
});
afterEach(async () => t.close());

/** Sandbox routes of `box`, the sandbox's own deletion last (it ends the walk). */
const sandboxRoutes = () =>
  filledRoutes(t.app, 'box')
    .filter((r) => r.route.includes(' /api/v1/sandboxes/:id'))
    .sort((a, b) => Number(a.url === '/api/v1/sandboxes/box') - Number(b.url === '/api/v1/sandboxes/box'));

describe('a sandbox shared as viewer and operator', () => {
  it('a viewer reads status, logs and files; is refused exec, file writes, terminal, ports, lifecycle, manage, share', async () => {
    const mayRead = new Set(['read', 'logs', 'files-read']);
    let passed = 0;
    for (const { route, method, url } of sandboxRoutes()) {
      const rule = accessRuleOf(method, route.slice(method.length + 1));
      if (rule.kind !== 'sandbox') continue;
      const r = await t.call(k.vera, method, url);
      if (mayRead.has(rule.verb)) {
        passed++;
        expect(refused(r), `viewer ${route}: ${r.body}`).toBe(false);
      } else {
        expect([r.statusCode, r.json().code], `viewer ${route}`).toEqual([403, 'FORBIDDEN']);
      }
    }
    expect(passed).toBeGreaterThan(5);
    expect((await t.call(k.vera, 'POST', '/api/v1/sandboxes/box/exec', { command: 'id' })).statusCode).toBe(
      403,
    );
    expect((await t.call(k.vera, 'PUT', '/api/v1/sandboxes/box/files/workspace/x')).statusCode).toBe(403);
    expect((await t.call(k.vera, 'GET', '/api/v1/sandboxes/box')).json().access).toBe('viewer');
  });

  it('an operator works in it; is refused delete, change and re-sharing', async () => {
    const ownerOnly = new Set(['manage', 'share']);
    for (const { route, method, url } of sandboxRoutes()) {
      const rule = accessRuleOf(method, route.slice(method.length + 1));
      if (rule.kind !== 'sandbox') continue;
      const r = await t.call(k.otto, method, url, method === 'PUT' ? { role: 'operator' } : undefined);
      if (ownerOnly.has(rule.verb))
        expect([r.statusCode, r.json().code], `operator ${route}`).toEqual([403, 'FORBIDDEN']);
      else expect(refused(r), `operator ${route}: ${r.body}`).toBe(false);
    }
    const reshare = await t.call(k.otto, 'PUT', '/api/v1/sandboxes/box/shares/mallory', { role: 'operator' });
    expect(reshare.statusCode).toBe(403);
    expect((await t.call(k.otto, 'DELETE', '/api/v1/sandboxes/box/shares/vera')).statusCode).toBe(403);
    expect((await t.call(k.otto, 'DELETE', '/api/v1/sandboxes/box')).statusCode).toBe(403);
    expect((await t.call(k.alice, 'GET', '/api/v1/sandboxes/box')).statusCode).toBe(200);
    const shares = await t.call(k.alice, 'GET', '/api/v1/sandboxes/box/shares');
    expect(
      shares
        .json()
        .shares.map((s: { user: string }) => s.user)
        .sort(),
    ).toEqual(['otto', 'vera']);
  });

  it('a stranger still gets the missing-sandbox 404 everywhere and sees nothing in lists', async () => {
    for (const { route, method, url } of sandboxRoutes()) {
      const r = await t.call(k.mallory, method, url);
      expect([r.statusCode, r.json().code], route).toEqual([404, 'SANDBOX_NOT_FOUND']);
    }
    expect((await t.call(k.mallory, 'GET', '/api/v1/sandboxes')).json().sandboxes).toEqual([]);
  });

  it('lists show shared sandboxes with the role; revoking takes effect on the next request', async () => {
    const list = await t.call(k.otto, 'GET', '/api/v1/sandboxes');
    expect(list.json().sandboxes.map((s: { name: string; access: string }) => [s.name, s.access])).toEqual([
      ['box', 'operator'],
    ]);
    const before = await t.call(k.otto, 'POST', '/api/v1/sandboxes/box/exec', { command: 'id' });
    expect(refused(before)).toBe(false);
    expect((await t.call(k.alice, 'DELETE', '/api/v1/sandboxes/box/shares/otto')).statusCode).toBe(204);
    const after = await t.call(k.otto, 'POST', '/api/v1/sandboxes/box/exec', { command: 'id' });
    expect([after.statusCode, after.json().code]).toEqual([404, 'SANDBOX_NOT_FOUND']);
    expect((await t.call(k.otto, 'GET', '/api/v1/sandboxes')).json().sandboxes).toEqual([]);
    // Idempotent.
    expect((await t.call(k.alice, 'DELETE', '/api/v1/sandboxes/box/shares/otto')).statusCode).toBe(204);
  });

  it('a scoped key an operator minted dies with the share', async () => {
    const minted = await t.call(k.otto, 'POST', '/api/v1/user/api-keys', {
      name: 'agent',
      sandbox: 'box',
      verbs: ['exec'],
    });
    expect(minted.statusCode, minted.body).toBe(201);
    const key = minted.json().key as string;
    expect(refused(await t.call(key, 'POST', '/api/v1/sandboxes/box/exec', { command: 'id' }))).toBe(false);
    await t.call(k.alice, 'PUT', '/api/v1/sandboxes/box/shares/otto', { role: 'viewer' });
    expect((await t.call(key, 'POST', '/api/v1/sandboxes/box/exec', { command: 'id' })).statusCode).toBe(403);
    await t.call(k.alice, 'DELETE', '/api/v1/sandboxes/box/shares/otto');
    expect((await t.call(key, 'POST', '/api/v1/sandboxes/box/exec', { command: 'id' })).statusCode).toBe(404);
  });

  it('a viewer cannot open a TCP tunnel, and reaches a terminal only read-only; an operator gets past both checks', async () => {
    const base = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', 'localhost');
    const wsStatus = (path: string, key: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, { headers: { 'x-api-key': key } });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error(`${path} opened`)));
        ws.on('error', reject);
      });
    for (const path of ['/ws/terminal/box', '/ws/tcp/box/8080']) {
      // A viewer's terminal is read-only (routes/terminal-read-only.attack.test.ts): past the check.
      expect(await wsStatus(path, k.vera), path).toBe(path.startsWith('/ws/terminal') ? 409 : 403);
      expect(await wsStatus(path, k.otto), path).toBe(409); // not running: past the access check
      expect(await wsStatus(path, k.mallory), path).toBe(404);
    }
  });

  it('refuses bad share requests', async () => {
    const cases: Array<[string, unknown, number]> = [
      ['/api/v1/sandboxes/box/shares/alice', { role: 'viewer' }, 400], // the owner
      ['/api/v1/sandboxes/box/shares/bob', { role: 'owner' }, 400],
      ['/api/v1/sandboxes/box/shares/bob', { role: 'viewer', extra: 1 }, 400],
      ['/api/v1/sandboxes/box/shares/b%20b', { role: 'viewer' }, 400],
      [`/api/v1/sandboxes/box/shares/${'x'.repeat(200)}`, { role: 'viewer' }, 400],
    ];
    for (const [url, body, status] of cases) {
      const r = await t.call(k.alice, 'PUT', url, body);
      expect(r.statusCode, `${url} ${r.body}`).toBe(status);
    }
    // The create and PATCH bodies cannot smuggle a share in.
    const create = await t.call(k.mallory, 'POST', '/api/v1/sandboxes', {
      name: 'm',
      template: 'general-coding',
      sharedWith: [{ sub: 'x', role: 'operator' }],
    });
    expect(create.statusCode).toBe(400);
    const patch = await t.call(k.alice, 'PATCH', '/api/v1/sandboxes/box', {
      sharedWith: [{ sub: 'mallory', role: 'operator', sharedAt: 'now' }],
    });
    expect(patch.statusCode).toBe(400);
  });
});
