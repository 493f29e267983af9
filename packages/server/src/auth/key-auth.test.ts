/**
 * API-key authentication end to end through the router (app.inject and a real listening socket for the
 * WebSocket), on real SQLite in memory: every route refuses a missing, revoked, expired or malformed
 * key; failures are rate-limited per client address; keys are managed by their owners and admins.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DataPlane } from '@agenttier/core';
import type { FastifyInstance } from 'fastify';
import { UNDOCUMENTED_ROUTES, routeTableOf } from '../openapi.ts';
import { accessRuleOf } from './access-rules.ts';
import { API_KEY_RE, generateApiKey, hashApiKey } from './api-key-format.ts';
import type { SqliteApiKeyStore } from './sqlite-api-keys.ts';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { insertApiKey } from '../testing/api-key.ts';

let t: AuthTestApp;
let keys: SqliteApiKeyStore;
let app: FastifyInstance;
let clockMs: number;
let adminKey: string;

async function issue(owner: { id: string; isAdmin: boolean }, expiresAt?: string): Promise<string> {
  const { key } = await insertApiKey(keys, owner.id, {
    isAdmin: owner.isAdmin,
    name: `${owner.id}-key`,
    createdAtMs: clockMs,
    ...(expiresAt ? { expiresAt } : {}),
  });
  return key;
}

beforeEach(async () => {
  clockMs = Date.now();
  t = await startAuthTestApp({
    dataPlaneFor: async () => ({}) as DataPlane,
    keyAuth: { failureBurst: 10, failuresPerSecond: 0.01, maxTrackedClients: 50, nowMs: () => clockMs },
  });
  ({ app, keys } = t);
  adminKey = await issue({ id: 'admin', isAdmin: true });
});
afterEach(() => t.close());

/** Every registered route with its parameters filled in. */
function everyRoute(): Array<{ method: string; url: string }> {
  return (
    routeTableOf(app)
      .filter((r) => !UNDOCUMENTED_ROUTES.has(r))
      // Login and logout (auth/session routes) are public: they check the credential in their body.
      .filter((r) => accessRuleOf(r.split(' ')[0]!, r.split(' ')[1]!).kind !== 'public')
      .filter((r) => !r.startsWith('HEAD ') && !r.startsWith('OPTIONS '))
      .map((r) => {
        const [method, url] = r.split(' ') as [string, string];
        return { method, url: url.replace(/:[a-zA-Z]+/g, 'x1').replace(/\*$/, 'f') };
      })
  );
}

const inject = (
  method: string,
  url: string,
  headers: Record<string, string> = {},
  remoteAddress = '127.0.0.1',
) =>
  app.inject({
    method: method as 'GET',
    url,
    headers: {
      ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    remoteAddress,
    ...(method === 'GET' || method === 'DELETE' ? {} : { payload: '{}' }),
  });

describe('no credential, revoked and expired keys', () => {
  it('every API route answers 401 UNAUTHENTICATED without a key, saying how to get one', async () => {
    const routes = everyRoute();
    expect(routes.length).toBeGreaterThan(30);
    for (const [i, { method, url }] of routes.entries()) {
      // Each from its own address: this is about the 401, not the failure rate limit.
      const r = await inject(method, url, {}, `10.0.${i}.1`);
      expect([r.statusCode, r.json().code], `${method} ${url}`).toEqual([401, 'UNAUTHENTICATED']);
      expect(r.json().message).toMatch(/X-API-Key/);
    }
  });

  it('a revoked key is refused at once, though it was just verified (and cached)', async () => {
    const key = await issue({ id: 'alice', isAdmin: false });
    expect((await inject('GET', '/api/v1/user/me', { 'x-api-key': key })).statusCode).toBe(200);
    const listed = await inject('GET', '/api/v1/user/api-keys', { 'x-api-key': key });
    const id = (listed.json() as { items: Array<{ id: string }> }).items[0]!.id;
    expect((await inject('DELETE', `/api/v1/user/api-keys/${id}`, { 'x-api-key': key })).statusCode).toBe(
      204,
    );
    for (const { method, url } of everyRoute().slice(0, 10)) {
      const r = await inject(method, url, { 'x-api-key': key }, '10.1.0.1');
      expect([r.statusCode, r.json().code], `${method} ${url}`).toEqual([401, 'UNAUTHENTICATED']);
    }
  });

  it('an expired key is refused', async () => {
    const key = await issue({ id: 'bob', isAdmin: false }, new Date(clockMs + 60_000).toISOString());
    expect((await inject('GET', '/api/v1/user/me', { 'x-api-key': key })).statusCode).toBe(200);
    clockMs += 61_000;
    const r = await inject('GET', '/api/v1/user/me', { 'x-api-key': key });
    expect(r.statusCode).toBe(401);
    expect(r.json().message).toMatch(/expired/);
  });

  it('the terminal WebSocket is refused without a key', async () => {
    const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${base}/ws/terminal/some-sandbox`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the terminal opened without a key')));
      ws.on('error', reject);
    });
    expect(status).toBe(401);
  });
});

describe('credential shapes', () => {
  it('takes X-API-Key and Authorization: Bearer, and /user/me names the owner', async () => {
    const shapes: Array<Record<string, string>> = [
      { 'x-api-key': adminKey },
      { authorization: `Bearer ${adminKey}` },
    ];
    for (const headers of shapes) {
      const r = await inject('GET', '/api/v1/user/me', headers);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({
        id: 'admin',
        sub: 'admin',
        groups: [],
        isAdmin: true,
        authMethod: 'api-key',
      });
    }
  });

  it('malformed, truncated, oversized and non-ASCII credentials are 401, never 500', async () => {
    const bad: Array<Record<string, string>> = [
      { 'x-api-key': adminKey.slice(0, -1) },
      { 'x-api-key': `${adminKey}0` },
      { 'x-api-key': 'atk_' },
      { 'x-api-key': 'a'.repeat(9000) },
      { 'x-api-key': `atk_${'A'.repeat(9000)}` },
      { authorization: `Bearer ${'x'.repeat(9000)}` },
      { 'x-api-key': Buffer.from(`${adminKey.slice(0, -1)}é`, 'utf8').toString('latin1') },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${adminKey} extra` },
      { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' },
      { 'x-api-key': adminKey, authorization: `Bearer ${adminKey}` },
    ];
    for (const [i, headers] of bad.entries()) {
      const r = await inject('GET', '/api/v1/sandboxes', headers, `10.2.${i}.1`);
      expect([r.statusCode, r.json().code], JSON.stringify(headers).slice(0, 80)).toEqual([
        401,
        'UNAUTHENTICATED',
      ]);
    }
  });

  it('keys are atk_ + 43 base62 digits, and only their SHA-256 is stored', async () => {
    const r = await inject('POST', '/api/v1/user/api-keys', { 'x-api-key': adminKey }, '127.0.0.1');
    expect(r.statusCode).toBe(400); // name is required
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/user/api-keys',
      headers: { 'x-api-key': adminKey },
      payload: { name: 'ci', expiresInDays: 30 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { key, id, expiresAt } = created.json() as { key: string; id: string; expiresAt: string };
    expect(key).toMatch(API_KEY_RE);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const stored = await keys.get(id);
    expect(stored?.hash).toBe(hashApiKey(key));
    expect(JSON.stringify(stored)).not.toContain(key.slice(4));
    const listed = await inject('GET', '/api/v1/user/api-keys', { 'x-api-key': key });
    expect(listed.body).not.toContain(key.slice(4));
  });
});

describe('failed authentications are rate-limited per client address', () => {
  it('guessing keys gets 429 with Retry-After, even for a right key, and not for another address', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 15; i++) {
      const r = await inject('GET', '/api/v1/sandboxes', { 'x-api-key': generateApiKey() }, '10.9.9.9');
      codes.push(r.statusCode);
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(codes.slice(10)).toEqual(Array(5).fill(429));
    const locked = await inject('GET', '/api/v1/sandboxes', { 'x-api-key': adminKey }, '10.9.9.9');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.json().code).toBe('RATE_LIMITED');
    const other = await inject('GET', '/api/v1/sandboxes', { 'x-api-key': adminKey }, '10.9.9.10');
    expect(other.statusCode).toBe(200);
  });

  it('remembers a bounded number of addresses: the least recently seen are forgotten', async () => {
    const me = (addr: string) => inject('GET', '/api/v1/user/me', {}, addr);
    for (let i = 0; i < 10; i++) await me('10.8.8.8');
    expect((await me('10.8.8.8')).statusCode).toBe(429);
    // 2000 other addresses fail once each; only 50 are remembered (maxTrackedClients), so the table
    // does not grow with them, and the first address is forgotten with its lockout.
    for (let i = 0; i < 2000; i++) expect((await me(`10.7.${i >> 8}.${i & 255}`)).statusCode).toBe(401);
    expect((await me('10.8.8.8')).statusCode).toBe(401);
  });
});

describe('managing keys', () => {
  it('users list and revoke only their own keys; admins see and revoke anyone', async () => {
    const alice = await issue({ id: 'alice', isAdmin: false });
    const mallory = await issue({ id: 'mallory', isAdmin: false });
    const idOf = async (key: string) =>
      (
        (await inject('GET', '/api/v1/user/api-keys', { 'x-api-key': key })).json() as {
          items: Array<{ id: string; owner: { id: string } }>;
        }
      ).items;
    const aliceKeys = await idOf(alice);
    expect(aliceKeys.map((k) => k.owner.id)).toEqual(['alice']);
    const aliceKeyId = aliceKeys[0]!.id;
    // A stranger cannot see, revoke or list every key, nor issue a key for someone else.
    expect((await idOf(mallory)).map((k) => k.owner.id)).toEqual(['mallory']);
    expect(
      (await inject('DELETE', `/api/v1/user/api-keys/${aliceKeyId}`, { 'x-api-key': mallory })).statusCode,
    ).toBe(404);
    expect((await inject('GET', '/api/v1/user/api-keys?all=true', { 'x-api-key': mallory })).statusCode).toBe(
      403,
    );
    const forOther = await app.inject({
      method: 'POST',
      url: '/api/v1/user/api-keys',
      headers: { 'x-api-key': mallory },
      payload: { name: 'x', user: { id: 'alice', isAdmin: true } },
    });
    expect(forOther.statusCode).toBe(403);
    expect((await inject('GET', '/api/v1/user/me', { 'x-api-key': alice })).statusCode).toBe(200);
    // The admin sees every key and revokes Alice's.
    const all = await inject('GET', '/api/v1/user/api-keys?all=true', { 'x-api-key': adminKey });
    expect((all.json() as { items: unknown[] }).items).toHaveLength(3);
    expect(
      (await inject('DELETE', `/api/v1/user/api-keys/${aliceKeyId}`, { 'x-api-key': adminKey })).statusCode,
    ).toBe(204);
    expect((await inject('GET', '/api/v1/user/me', { 'x-api-key': alice })).statusCode).toBe(401);
  });

  it("a user's own new key carries no more than the user's rights", async () => {
    const alice = await issue({ id: 'alice', isAdmin: false });
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/user/api-keys',
      headers: { 'x-api-key': alice },
      payload: { name: 'agent' },
    });
    const { key } = created.json() as { key: string };
    const me = await inject('GET', '/api/v1/user/me', { 'x-api-key': key });
    expect(me.json()).toEqual({
      id: 'alice',
      sub: 'alice',
      groups: [],
      isAdmin: false,
      authMethod: 'api-key',
    });
  });
});
