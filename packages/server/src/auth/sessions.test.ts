/**
 * Browser sessions made with an API key, through the router (app.inject) on real SQLite: the cookie's
 * flags, logout, expiry, revocation with the key, and the cases where a cookie must authorise nothing
 * (another origin, a same-site page, a planted duplicate, a plain-named cookie on a TLS router).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { SqliteApiKeyStore } from './sqlite-api-keys.ts';
import { SqliteSessionStore } from './session-store.ts';
import { SESSION_BINDING_HEADER } from '@agenttier/contract';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';
import { insertApiKey } from '../testing/api-key.ts';

let keys: SqliteApiKeyStore;
let sessions: SqliteSessionStore;
let app: FastifyInstance;
let clockMs: number;

async function issue(id: string, isAdmin = false): Promise<{ key: string; keyId: string }> {
  return insertApiKey(keys, id, { isAdmin, name: `${id}-key`, createdAtMs: clockMs });
}

async function build(secureCookies: boolean): Promise<void> {
  clockMs = Date.now();
  const store = await seededStore();
  keys = new SqliteApiKeyStore(':memory:');
  sessions = new SqliteSessionStore(':memory:', { nowMs: () => clockMs, maxPerUser: 3 });
  app = createBareApp(store, {
    apiKeys: keys,
    sessions: { store: sessions, secureCookies, ttlMs: 60_000 },
    keyAuth: { failureBurst: 5, failuresPerSecond: 0.001, nowMs: () => clockMs },
  });
  await app.ready();
}

beforeEach(async () => build(false));
afterEach(async () => {
  await app.close();
  keys.close();
  sessions.close();
});

const HOST = 'localhost:8080';

async function login(apiKey: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/auth/session',
    headers: { host: HOST, 'content-type': 'application/json', ...headers },
    payload: JSON.stringify({ apiKey }),
  });
}

/** The cookie pair (`name=value`) a login answer set. */
function cookieOf(res: { headers: Record<string, unknown> }): string {
  const set = String(res.headers['set-cookie']);
  return set.split(';')[0]!;
}

/** What the web UI sends after that login: the cookie and the session's binding (from the answer). */
function sessionOf(res: { headers: Record<string, unknown>; json(): { binding: string } }): Session {
  return { cookie: cookieOf(res), [SESSION_BINDING_HEADER]: res.json().binding };
}
interface Session {
  cookie: string;
  [header: string]: string;
}

const me = (session: Session, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: '/api/v1/user/me', headers: { host: HOST, ...session, ...headers } });

describe('API-key login', () => {
  it('sets an HttpOnly, SameSite=Strict cookie that authenticates REST calls as the key owner', async () => {
    const { key, keyId } = await issue('alice');
    const res = await login(key);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ user: { id: 'alice', isAdmin: false } });
    const set = String(res.headers['set-cookie']);
    expect(set).toMatch(/^agenttier_session=[A-Za-z0-9_-]{43}; /);
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Strict');
    expect(set).toContain('Path=/');
    expect(set).not.toContain('Secure'); // plain HTTP: a Secure cookie would never come back
    const r = await me(sessionOf(res));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ id: 'alice' });
    // The database holds the cookie's and the binding's hashes only: a stolen state file gives no session.
    const value = cookieOf(res).split('=')[1]!;
    expect(sessions.find(value)?.keyId).toBe(keyId);
    expect(JSON.stringify(sessions.find(value))).not.toContain(value);
    expect(JSON.stringify(sessions.find(value))).not.toContain(res.json().binding);
  });

  it('over TLS the cookie is __Host- and Secure, and a plain-named cookie is not accepted', async () => {
    await app.close();
    await build(true);
    const { key } = await issue('alice');
    const res = await login(key);
    const set = String(res.headers['set-cookie']);
    expect(set).toMatch(/^__Host-agenttier_session=/);
    expect(set).toContain('Secure');
    expect((await me(sessionOf(res))).statusCode).toBe(200);
    // A sibling host can plant `agenttier_session` (no prefix) for the parent domain: worthless here.
    const tossed = cookieOf(res).replace('__Host-agenttier_session', 'agenttier_session');
    expect((await me({ ...sessionOf(res), cookie: tossed })).statusCode).toBe(401);
  });

  it('refuses a wrong, malformed or missing key with the one error shape, rate-limited per address', async () => {
    const bad = await login(`atk_${'x'.repeat(43)}`);
    expect([bad.statusCode, bad.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    expect(bad.headers['set-cookie']).toBeUndefined();
    const missing = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/session',
      headers: { host: HOST, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect([missing.statusCode, missing.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    for (let i = 0; i < 6; i++) await login('atk_guess');
    const { key } = await issue('alice');
    const locked = await login(key); // a right key during the lockout does not confirm itself
    expect([locked.statusCode, locked.json().code]).toEqual([429, 'RATE_LIMITED']);
    expect(locked.headers['retry-after']).toBeDefined();
  });

  it('a login form on another site cannot log the browser in (Origin guard, JSON only)', async () => {
    const { key } = await issue('alice');
    const cross = await login(key, { origin: 'https://evil.example' });
    expect([cross.statusCode, cross.json().code]).toEqual([403, 'ORIGIN_NOT_ALLOWED']);
    const form = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/session',
      headers: { host: HOST, 'content-type': 'text/plain' },
      payload: JSON.stringify({ apiKey: key }),
    });
    expect(form.statusCode).toBe(415);
  });
});

describe('session lifetime', () => {
  it('logout ends the session at once and clears the cookie', async () => {
    const { key } = await issue('alice');
    const session = sessionOf(await login(key));
    const out = await app.inject({
      method: 'DELETE',
      url: '/api/v1/auth/session',
      headers: { host: HOST, ...session },
    });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^agenttier_session=; .*Max-Age=0/);
    const r = await me(session);
    expect([r.statusCode, r.json().code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('an expired session is refused', async () => {
    const { key } = await issue('alice');
    const session = sessionOf(await login(key));
    clockMs += 60_001;
    const r = await me(session);
    expect(r.statusCode).toBe(401);
    expect(r.json().message).toMatch(/expired/);
  });

  it('revoking the API key ends every session made with it, at once', async () => {
    const { key, keyId } = await issue('alice');
    const session = sessionOf(await login(key));
    const other = sessionOf(await login(key));
    expect((await me(session)).statusCode).toBe(200);
    const del = await app.inject({
      method: 'DELETE',
      url: `/api/v1/user/api-keys/${keyId}`,
      headers: { host: HOST, ...session },
    });
    expect(del.statusCode).toBe(204);
    expect((await me(session)).statusCode).toBe(401);
    expect((await me(other)).statusCode).toBe(401);
  });

  it('a key deleted behind this process (another replica) ends its sessions on their next use', async () => {
    const { key, keyId } = await issue('alice');
    const session = sessionOf(await login(key));
    await keys.remove(keyId);
    expect((await me(session)).statusCode).toBe(401);
  });

  it('sessions per user are capped: logging in again and again does not grow the store', async () => {
    const { key } = await issue('alice');
    const first = sessionOf(await login(key));
    for (let i = 0; i < 5; i++) await login(key);
    expect(sessions.count()).toBe(3);
    expect((await me(first)).statusCode).toBe(401); // the oldest went first
  });
});

describe('a cookie alone authorises nothing from another origin', () => {
  it('refuses the cookie on a request from another origin or a same-site page', async () => {
    const { key } = await issue('alice');
    const session = sessionOf(await login(key));
    expect(
      (await me(session, { origin: `http://${HOST}`, 'sec-fetch-site': 'same-origin' })).statusCode,
    ).toBe(200);
    const attempts: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      // A preview (`3000-box--default.localhost`) or another port of the same host is same-site.
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of attempts) {
      const r = await me(session, headers);
      expect([r.statusCode, r.json().code], JSON.stringify(headers)).toEqual([401, 'UNAUTHENTICATED']);
      expect(r.json().message).toMatch(/same origin/);
    }
  });

  it('a state-changing request with the cookie from another site is refused before authentication', async () => {
    const { key } = await issue('alice');
    const session = sessionOf(await login(key));
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/user/api-keys',
      headers: {
        host: HOST,
        ...session,
        origin: 'https://evil.example',
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ name: 'stolen' }),
    });
    expect([r.statusCode, r.json().code]).toEqual([403, 'ORIGIN_NOT_ALLOWED']);
    expect(await keys.list('alice')).toHaveLength(1);
  });

  it('two session cookies (one planted by a sibling host or for a narrower path) authorise nothing', async () => {
    const { key } = await issue('alice');
    const session = sessionOf(await login(key));
    const r = await me({ ...session, cookie: `${session.cookie}; agenttier_session=${'A'.repeat(43)}` });
    expect(r.statusCode).toBe(401);
    expect(r.json().message).toMatch(/more than one session cookie/);
  });

  it('an unknown or garbage cookie is a 401, never a 500', async () => {
    for (const v of ['', 'x', 'A'.repeat(43), 'é'.repeat(50), 'a'.repeat(5000)]) {
      const r = await me({ cookie: `agenttier_session=${v}` });
      expect(r.statusCode, v.slice(0, 10)).toBe(401);
    }
  });
});

describe('a session cookie counts only next to its binding (cookie tossing from another port)', () => {
  it('the cookie without its binding, with another session’s or a malformed one: 401', async () => {
    const alice = sessionOf(await login((await issue('alice')).key));
    const mallory = sessionOf(await login((await issue('mallory')).key));
    // As a WebSocket offers it (a browser WebSocket cannot send headers): a second subprotocol.
    const ws = await me({
      cookie: alice.cookie,
      'sec-websocket-protocol': `agenttier, agenttier.binding.${alice[SESSION_BINDING_HEADER]!}`,
    });
    expect(ws.json()).toMatchObject({ id: 'alice', authMethod: 'session' });
    const wrong: Session[] = [
      { cookie: alice.cookie }, // planted by a page that could not know the binding
      { cookie: alice.cookie, [SESSION_BINDING_HEADER]: mallory[SESSION_BINDING_HEADER]! },
      { cookie: alice.cookie, [SESSION_BINDING_HEADER]: 'A'.repeat(43) },
      { cookie: alice.cookie, [SESSION_BINDING_HEADER]: '' },
      { cookie: alice.cookie, 'sec-websocket-protocol': `agenttier, agenttier.binding.${'B'.repeat(43)}` },
    ];
    // Five: this router locks an address out after five failed authentications.
    for (const s of wrong) {
      const r = await me(s);
      expect([r.statusCode, r.json().code], JSON.stringify(s)).toEqual([401, 'UNAUTHENTICATED']);
      expect(r.json()).toMatchObject({ error: expect.any(String), requestId: expect.any(String) });
      expect(r.json().message).toMatch(/binding/);
    }
  });

  it('the web UI chooses its own binding at login; a malformed one is a 400', async () => {
    const { key } = await issue('alice');
    const chosen = 'Q'.repeat(42) + 'w';
    const res = await login(key, { [SESSION_BINDING_HEADER]: chosen });
    expect(res.json().binding).toBe(chosen);
    expect((await me({ cookie: cookieOf(res), [SESSION_BINDING_HEADER]: chosen })).statusCode).toBe(200);
    for (const bad of ['short', 'Q'.repeat(44), `${'Q'.repeat(42)}=`]) {
      const r = await login(key, { [SESSION_BINDING_HEADER]: bad });
      expect([r.statusCode, r.json().code], bad).toEqual([400, 'BAD_REQUEST']);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
  });

  it('a session stored before bindings existed authenticates nothing', async () => {
    const { keyId } = await issue('alice');
    const { token } = sessions.create({
      identity: { sub: 'alice', groups: [], isAdmin: false, via: 'session' },
      keyId,
      source: 'api-key',
      ttlMs: 60_000,
    });
    const r = await me({ cookie: `agenttier_session=${token}`, [SESSION_BINDING_HEADER]: 'A'.repeat(43) });
    expect([r.statusCode, r.json().code]).toEqual([401, 'UNAUTHENTICATED']);
  });
});
