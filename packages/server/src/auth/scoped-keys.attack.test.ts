/**
 * Sandbox-scoped keys as an attacker holds one: the key handed to an agent for sandbox `alice-box`
 * with `exec` and `files` is tried against every route of the app (walked from the route table, so a
 * new route is covered without touching this file), the WebSockets and a preview. Only sandbox routes
 * of alice-box whose verb the key grants get past the access check; everything else is 403 or the
 * missing-sandbox 404.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LightMyRequestResponse } from 'fastify';
import { requestWithHost } from '../testing/host-request.ts';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { filledRoutes, startAuthTestApp } from '../testing/auth-app.ts';
import { accessRuleOf } from './access-rules.ts';
import { KEY_VERB_GRANTS } from './sandbox-verbs.ts';

let t: AuthTestApp;
let alice: string;
let bob: string;
let admin: string;
let scoped: string;
let scopedKeyId: string;

const GRANTED = new Set([...KEY_VERB_GRANTS.exec, ...KEY_VERB_GRANTS.files]);

async function createBox(key: string, name: string): Promise<void> {
  const r = await t.call(key, 'POST', '/api/v1/sandboxes', { name, template: 'general-coding' });
  expect(r.statusCode, r.body).toBe(201);
}

/** Refused by authorization: 403, or the 404 a missing sandbox gets (never a 401: the key is valid). */
function refused(r: LightMyRequestResponse): boolean {
  if (r.statusCode === 403) return r.json().code === 'FORBIDDEN';
  return r.statusCode === 404 && r.json().code === 'SANDBOX_NOT_FOUND';
}

beforeEach(async () => {
  t = await startAuthTestApp();
  alice = (await t.issue('alice')).key;
  bob = (await t.issue('bob')).key;
  admin = (await t.issue('root', true)).key;
  await createBox(alice, 'alice-box');
  await createBox(alice, 'alice-other');
  await createBox(bob, 'bob-box');
  const minted = await t.call(alice, 'POST', '/api/v1/user/api-keys', {
    name: 'agent',
    sandbox: 'alice-box',
    verbs: ['exec', 'files'],
  });
  expect(minted.statusCode, minted.body).toBe(201);
  expect(minted.json().scope).toEqual({
    namespace: 'default',
    sandbox: 'alice-box',
    verbs: ['exec', 'files'],
  });
  scoped = minted.json().key;
  scopedKeyId = minted.json().id;
});
afterEach(async () => t.close());

describe('a key scoped to one sandbox and some verbs', () => {
  it('gets past the access check only on its own sandbox with its verbs, on every route of the app', async () => {
    let allowed = 0;
    let denied = 0;
    for (const box of ['alice-box', 'alice-other', 'bob-box']) {
      for (const { route, method, url } of filledRoutes(t.app, box)) {
        const rule = accessRuleOf(method, route.slice(method.length + 1));
        if (rule.kind === 'public') continue;
        const r = await t.call(scoped, method, url);
        // `/mcp` admits the key; each tool call is an API call confined like these (routes/mcp.attack.test.ts).
        const mayPass =
          route === 'GET /api/v1/user/me' ||
          route.endsWith(' /mcp') ||
          (rule.kind === 'sandbox' && box === 'alice-box' && GRANTED.has(rule.verb));
        if (mayPass) {
          allowed++;
          expect(r.statusCode, `${route} on ${box}: ${r.body}`).not.toBe(401);
          expect(refused(r), `${route} on ${box}: ${r.body}`).toBe(false);
        } else {
          denied++;
          expect(refused(r), `${route} on ${box} should be refused: ${r.statusCode} ${r.body}`).toBe(true);
        }
      }
    }
    expect(allowed).toBeGreaterThan(10);
    expect(denied).toBeGreaterThan(100);
    // Nothing changed: the sandboxes, templates and keys are all still there.
    const list = await t.call(alice, 'GET', '/api/v1/sandboxes');
    expect(
      list
        .json()
        .sandboxes.map((s: { name: string }) => s.name)
        .sort(),
    ).toEqual(['alice-box', 'alice-other']);
    expect((await t.call(alice, 'GET', '/api/v1/templates/general-coding')).statusCode).toBe(200);
  });

  it('says what it is limited to; cannot list, create, read others, manage keys or touch templates', async () => {
    const me = await t.call(scoped, 'GET', '/api/v1/user/me');
    expect(me.json()).toMatchObject({
      id: 'alice',
      scope: { sandbox: 'alice-box', verbs: ['exec', 'files'] },
    });
    const list = await t.call(scoped, 'GET', '/api/v1/sandboxes');
    expect([list.statusCode, list.json().code]).toEqual([403, 'FORBIDDEN']);
    expect(list.json().message).toContain('limited to sandbox default/alice-box');
    const create = await t.call(scoped, 'POST', '/api/v1/sandboxes', {
      name: 'x',
      template: 'general-coding',
    });
    expect(create.statusCode).toBe(403);
    const mint = await t.call(scoped, 'POST', '/api/v1/user/api-keys', { name: 'more' });
    expect(mint.statusCode).toBe(403);
    const revokeSelf = await t.call(scoped, 'DELETE', `/api/v1/user/api-keys/${scopedKeyId}`);
    expect(revokeSelf.statusCode).toBe(403);
    const other = await t.call(scoped, 'GET', '/api/v1/sandboxes/alice-other');
    expect([other.statusCode, other.json().code]).toEqual([404, 'SANDBOX_NOT_FOUND']);
    const del = await t.call(scoped, 'DELETE', '/api/v1/sandboxes/alice-box');
    expect(del.statusCode).toBe(403);
    const share = await t.call(scoped, 'PUT', '/api/v1/sandboxes/alice-box/shares/bob', { role: 'operator' });
    expect(share.statusCode).toBe(403);
    // Its own verb passes the check (409: the sandbox is not running in this test).
    const exec = await t.call(scoped, 'POST', '/api/v1/sandboxes/alice-box/exec', { command: 'id' });
    expect(exec.statusCode, exec.body).toBe(409);
  });

  it('is refused on the terminal (not granted), other sandboxes and previews', async () => {
    const base = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', 'localhost');
    const wsStatus = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, {
          headers: { 'x-api-key': scoped },
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error(`${path} opened`)));
        ws.on('error', reject);
      });
    expect(await wsStatus('/ws/terminal/alice-box')).toBe(403);
    expect(await wsStatus('/ws/tcp/alice-box/8080')).toBe(403);
    expect(await wsStatus('/ws/terminal/bob-box')).toBe(404);
    const port = new URL(base).port;
    const preview = await requestWithHost(base, `8080-alice-box--default.localhost:${port}`, '/', {
      headers: { 'x-api-key': scoped },
    });
    expect(preview.status).toBe(403);
  });

  it('stops at once when revoked', async () => {
    const before = await t.call(scoped, 'GET', '/api/v1/sandboxes/alice-box/fs/stat?path=/tmp');
    expect(refused(before)).toBe(false);
    expect((await t.call(alice, 'DELETE', `/api/v1/user/api-keys/${scopedKeyId}`)).statusCode).toBe(204);
    const after = await t.call(scoped, 'GET', '/api/v1/sandboxes/alice-box/fs/stat?path=/tmp');
    expect(after.statusCode).toBe(401);
  });

  it('does not carry over to a new sandbox of the same name', async () => {
    const ok = await t.call(scoped, 'GET', '/api/v1/sandboxes/alice-box/fs/stat?path=/tmp');
    expect(refused(ok)).toBe(false);
    expect((await t.call(alice, 'DELETE', '/api/v1/sandboxes/alice-box')).statusCode).toBe(204);
    expect((await t.call(alice, 'GET', '/api/v1/sandboxes/alice-box')).statusCode).toBe(404);
    await createBox(alice, 'alice-box');
    // Same owner, same name, another object: the key was for the one that is gone.
    expect((await t.call(alice, 'GET', '/api/v1/sandboxes/alice-box')).statusCode).toBe(200);
    const again = await t.call(scoped, 'GET', '/api/v1/sandboxes/alice-box/fs/stat?path=/tmp');
    expect([again.statusCode, again.json().code]).toEqual([404, 'SANDBOX_NOT_FOUND']);
  });

  it('cannot be minted beyond what its creator may do', async () => {
    const foreign = await t.call(alice, 'POST', '/api/v1/user/api-keys', {
      name: 'x',
      sandbox: 'bob-box',
      verbs: ['read'],
    });
    expect([foreign.statusCode, foreign.json().code]).toEqual([404, 'SANDBOX_NOT_FOUND']);
    const share = await t.call(bob, 'PUT', '/api/v1/sandboxes/bob-box/shares/alice', { role: 'viewer' });
    expect(share.statusCode, share.body).toBe(200);
    const asViewer = await t.call(alice, 'POST', '/api/v1/user/api-keys', {
      name: 'x',
      sandbox: 'bob-box',
      verbs: ['exec'],
    });
    expect([asViewer.statusCode, asViewer.json().code]).toEqual([403, 'FORBIDDEN']);
    const viewerKey = await t.call(alice, 'POST', '/api/v1/user/api-keys', {
      name: 'x',
      sandbox: 'bob-box',
      verbs: ['read', 'files-read'],
    });
    expect(viewerKey.statusCode, viewerKey.body).toBe(201);
    // An admin's scoped key is still only that sandbox.
    const adminScoped = await t.call(admin, 'POST', '/api/v1/user/api-keys', {
      name: 'x',
      sandbox: 'bob-box',
      verbs: ['read'],
    });
    const k = adminScoped.json().key as string;
    expect((await t.call(k, 'GET', '/api/v1/sandboxes/bob-box')).statusCode).toBe(200);
    expect((await t.call(k, 'GET', '/api/v1/sandboxes/alice-box')).statusCode).toBe(404);
    expect((await t.call(k, 'GET', '/api/v1/audit/events')).statusCode).toBe(403);
    expect((await t.call(k, 'POST', '/api/v1/templates', { name: 'x' })).statusCode).toBe(403);
  });

  it('refuses bad scoped-key requests with the reason', async () => {
    const bad = [
      { name: 'x', verbs: ['exec'] },
      { name: 'x', sandbox: 'alice-box' },
      { name: 'x', sandbox: 'alice-box', verbs: ['delete'] },
      { name: 'x', sandbox: 'alice-box', verbs: ['manage'] },
      { name: 'x', sandbox: 'alice-box', verbs: [] },
      { name: 'x', sandbox: '../etc', verbs: ['exec'] },
      { name: 'x', sandbox: 'alice-box', verbs: ['exec'], user: { id: 'eve' } },
    ];
    for (const body of bad) {
      const r = await t.call(alice, 'POST', '/api/v1/user/api-keys', body);
      expect([400, 403], `${JSON.stringify(body)}: ${r.body}`).toContain(r.statusCode);
      expect(r.json().message.length).toBeGreaterThan(10);
    }
  });
});
