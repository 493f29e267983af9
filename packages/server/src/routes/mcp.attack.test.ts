/**
 * The router's own `/mcp`, tried as the attacker: every tool call must act as the HTTP request that
 * carried it (access rules, scoped keys, rate limits, audit), and the endpoint must refuse what the API
 * refuses (no key, a revoked key, another site's page, a foreign Host), keep sessions to their owner and
 * within bounds. Driven by the MCP SDK's own client over streamable HTTP against an app with API keys on
 * and no data plane (routes that need a running sandbox answer 409 after the access check);
 * packages/mcp/src/router-mcp.int.test.ts does the same against a real platform with real sandboxes.
 */
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { eventually } from '@agenttier/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteAuditLog } from '../auth/sqlite-audit-log.ts';
import { SqliteSessionStore } from '../auth/session-store.ts';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { SESSION_BINDING_HEADER } from '@agenttier/contract';

let t: AuthTestApp;
let audit: SqliteAuditLog;
let browserSessions: SqliteSessionStore;
let url: URL;
const k = { alice: '', vera: '', mallory: '', scoped: '' };
const open: Client[] = [];

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

beforeEach(async () => {
  audit = new SqliteAuditLog(':memory:');
  browserSessions = new SqliteSessionStore(':memory:');
  t = await startAuthTestApp({
    auditLog: audit,
    sessions: { store: browserSessions },
    rateLimits: { exec: { perSecond: 0.001, burst: 3 } },
    mcp: { maxBodyBytes: 256 * 1024, maxSessionsPerOwner: 2, maxSessions: 4 },
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  url = new URL(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/mcp`);
  for (const who of ['alice', 'vera', 'mallory'] as const) k[who] = (await t.issue(who)).key;
  for (const box of ['box', 'other']) {
    const r = await t.call(k.alice, 'POST', '/api/v1/sandboxes', { name: box, template: 'general-coding' });
    expect(r.statusCode, r.body).toBe(201);
  }
  expect(
    (await t.call(k.alice, 'PUT', '/api/v1/sandboxes/box/shares/vera', { role: 'viewer' })).statusCode,
  ).toBe(200);
  const minted = await t.call(k.alice, 'POST', '/api/v1/user/api-keys', {
    name: 'agent',
    sandbox: 'box',
    verbs: ['exec', 'files'],
  });
  expect(minted.statusCode, minted.body).toBe(201);
  k.scoped = minted.json().key;
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
  await t.close();
  audit.close();
  browserSessions.close();
});

async function mcp(headers: Record<string, string>): Promise<Client> {
  const c = new Client({ name: 'attack-test', version: '0' });
  await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  open.push(c);
  return c;
}

async function call(c: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const res = (await c.callTool({ name, arguments: args })) as CallToolResult;
  return res.content.map((x) => (x.type === 'text' ? x.text : '')).join('');
}

const post = (headers: Record<string, string>, body: unknown = INIT) =>
  t.app.inject({
    method: 'POST',
    url: '/mcp',
    headers: { ...MCP_HEADERS, host: url.host, ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('the router’s /mcp acts as its caller', () => {
  it('each caller sees and touches only what the API lets it', async () => {
    const alice = await mcp({ 'x-api-key': k.alice });
    expect(await call(alice, 'sandbox_list', {})).toContain('"name": "box"');
    // Past the access check: the sandbox is just not running in this app without a data plane.
    expect(await call(alice, 'sandbox_exec', { name: 'box', command: 'id' })).toMatch(
      /^SANDBOX_NOT_RUNNING \(HTTP 409\)/,
    );

    const mallory = await mcp({ authorization: `Bearer ${k.mallory}` });
    expect(await call(mallory, 'sandbox_list', {})).not.toContain('"name": "box"');
    expect(await call(mallory, 'sandbox_get', { name: 'box' })).toMatch(/^SANDBOX_NOT_FOUND \(HTTP 404\)/);
    expect(await call(mallory, 'sandbox_delete', { name: 'box' })).toMatch(/^SANDBOX_NOT_FOUND/);
    expect((await t.call(k.alice, 'GET', '/api/v1/sandboxes/box')).statusCode).toBe(200);
  });

  it('a viewer reads but cannot exec, write files or delete through MCP', async () => {
    const vera = await mcp({ 'x-api-key': k.vera });
    expect(await call(vera, 'sandbox_get', { name: 'box' })).toContain('"name": "box"');
    expect(await call(vera, 'sandbox_exec', { name: 'box', command: 'id' })).toMatch(
      /^FORBIDDEN \(HTTP 403\)/,
    );
    expect(await call(vera, 'process_start', { name: 'box', command: 'id' })).toMatch(/^FORBIDDEN/);
    expect(await call(vera, 'file_write', { name: 'box', path: '/workspace/x', content: 'x' })).toMatch(
      /^FORBIDDEN/,
    );
    expect(await call(vera, 'sandbox_delete', { name: 'box' })).toMatch(/^FORBIDDEN/);
    // The refusals are in the audit trail as vera's, from the MCP caller's address.
    const exec = await eventually(
      async () =>
        (await audit.query({ actor: 'vera', limit: 100 })).find(
          (e) => e.action === 'POST /api/v1/sandboxes/:id/exec',
        ),
      'the audit record of the refused exec',
    );
    expect(exec).toMatchObject({ status: 403, target: 'sandbox:default/box', source: '127.0.0.1' });
  });

  it('a scoped key stays in its sandbox and its verbs', async () => {
    const agent = await mcp({ 'x-api-key': k.scoped });
    expect(await call(agent, 'sandbox_exec', { name: 'box', command: 'id' })).toMatch(/^SANDBOX_NOT_RUNNING/);
    expect(await call(agent, 'sandbox_exec', { name: 'other', command: 'id' })).toMatch(
      /^(FORBIDDEN|SANDBOX_NOT_FOUND) \(HTTP 40[34]\)/,
    );
    expect(await call(agent, 'sandbox_list', {})).toMatch(/^FORBIDDEN/);
    expect(await call(agent, 'sandbox_delete', { name: 'box' })).toMatch(/^FORBIDDEN/);
    expect(await call(agent, 'sandbox_create', { name: 'new', template: 'minimal-shell' })).toMatch(
      /^FORBIDDEN/,
    );
    expect((await t.call(k.alice, 'GET', '/api/v1/sandboxes/new')).statusCode).toBe(404);
  });

  it('tool calls spend the caller’s rate limit like API calls', async () => {
    const alice = await mcp({ 'x-api-key': k.alice });
    for (let i = 0; i < 3; i++)
      expect(await call(alice, 'sandbox_exec', { name: 'box', command: 'id' })).toMatch(
        /^SANDBOX_NOT_RUNNING/,
      );
    expect(await call(alice, 'sandbox_exec', { name: 'box', command: 'id' })).toMatch(
      /^RATE_LIMITED \(HTTP 429\)/,
    );
    // The same identity's REST calls share the bucket.
    const rest = await t.call(k.alice, 'POST', '/api/v1/sandboxes/box/exec', { command: 'id' });
    expect(rest.statusCode).toBe(429);
  });
});

describe('the router’s /mcp refuses what the API refuses', () => {
  it('no key: 401 in the one error shape, before any MCP message is read', async () => {
    const r = await post({});
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ code: 'UNAUTHENTICATED', error: expect.any(String) });
    expect(r.json().requestId).toBeTruthy();
    expect((await post({ 'x-api-key': 'atk_not-a-real-key' })).statusCode).toBe(401);
    await expect(mcp({})).rejects.toMatchObject({ code: 401 });
  });

  it('a key revoked mid-session: the next request is 401', async () => {
    const issued = await t.call(k.alice, 'POST', '/api/v1/user/api-keys', { name: 'short-lived' });
    const c = await mcp({ 'x-api-key': issued.json().key });
    expect(await call(c, 'sandbox_get', { name: 'box' })).toContain('"name": "box"');
    const revoked = await t.call(k.alice, 'DELETE', `/api/v1/user/api-keys/${issued.json().id}`);
    expect(revoked.statusCode).toBe(204);
    const err = await c
      .callTool({ name: 'sandbox_get', arguments: { name: 'box' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamableHTTPError);
    expect((err as StreamableHTTPError).code).toBe(401);
  });

  it('another site’s page: 403; a rebound DNS name: 421; a session cookie is not a credential', async () => {
    const cross = await post({ 'x-api-key': k.alice, origin: 'https://evil.example' });
    expect([cross.statusCode, cross.json().code]).toEqual([403, 'ORIGIN_NOT_ALLOWED']);
    const nullOrigin = await post({ 'x-api-key': k.alice, origin: 'null' });
    expect(nullOrigin.statusCode).toBe(403);
    const rebound = await post({ 'x-api-key': k.alice, host: `evil.example:${url.port}` });
    expect([rebound.statusCode, rebound.json().code]).toEqual([421, 'HOST_NOT_ALLOWED']);
    // A form post (a simple request no preflight guards) never reaches MCP.
    const form = await post({ 'x-api-key': k.alice, 'content-type': 'text/plain' }, JSON.stringify(INIT));
    expect(form.statusCode).toBe(415);
    expect((await post({ 'x-api-key': k.alice })).statusCode).toBe(200);

    // The web UI's session cookie, even from the router's own origin: MCP takes a key or token.
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/session',
      headers: { host: url.host, 'content-type': 'application/json' },
      payload: JSON.stringify({ apiKey: k.alice }),
    });
    expect(login.statusCode, login.body).toBe(201);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const bound = { cookie, [SESSION_BINDING_HEADER]: (login.json() as { binding: string }).binding };
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/user/me',
      headers: { host: url.host, ...bound },
    });
    expect(me.statusCode).toBe(200);
    const viaCookie = await post({ ...bound, origin: `http://${url.host}` });
    expect([viaCookie.statusCode, viaCookie.json().code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('a session is its opener’s: another caller naming it gets 404', async () => {
    const opened = await post({ 'x-api-key': k.alice });
    const sessionId = opened.headers['mcp-session-id'];
    expect(typeof sessionId).toBe('string');
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const stolen = await post({ 'x-api-key': k.mallory, 'mcp-session-id': String(sessionId) }, list);
    expect([stolen.statusCode, stolen.json().code]).toEqual([404, 'NOT_FOUND']);
    // Alice's own scoped key is another credential too.
    const scoped = await post({ 'x-api-key': k.scoped, 'mcp-session-id': String(sessionId) }, list);
    expect(scoped.statusCode).toBe(404);
    const own = await post(
      { 'x-api-key': k.alice, 'mcp-session-id': String(sessionId), 'mcp-protocol-version': '2025-06-18' },
      list,
    );
    expect(own.statusCode, own.body).toBe(200);
  });

  it('one user cannot fill the router’s sessions by minting keys: the per-caller cap is per user', async () => {
    // Every key of a user is its own session owner; were the cap per key, Mallory's three keys would
    // hold all four of the router's sessions and everyone else would get 503 for the idle timeout.
    const keys = [k.mallory];
    for (let i = 0; i < 2; i++) {
      const minted = await t.call(k.mallory, 'POST', '/api/v1/user/api-keys', { name: `spare-${i}` });
      expect(minted.statusCode, minted.body).toBe(201);
      keys.push(minted.json().key);
    }
    for (const key of keys)
      for (let i = 0; i < 2; i++) expect((await post({ 'x-api-key': key })).statusCode).toBe(200);
    expect((await post({ 'x-api-key': k.alice })).statusCode).toBe(200);
    expect((await post({ 'x-api-key': k.vera })).statusCode).toBe(200);
  });

  it('bounds bodies and sessions', async () => {
    const big = await post({ 'x-api-key': k.alice }, { ...INIT, pad: 'x'.repeat(300 * 1024) });
    expect([big.statusCode, big.json().code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect((await post({ 'x-api-key': k.alice }, '{"jsonrpc":')).statusCode).toBe(400);
    expect(
      (await post({ 'x-api-key': k.alice }, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).statusCode,
    ).toBe(400);

    // Per caller: a third session closes alice's least recently used one.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(String((await post({ 'x-api-key': k.alice })).headers['mcp-session-id']));
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const use = (key: string, id: string) =>
      post({ 'x-api-key': key, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' }, list);
    expect((await use(k.alice, ids[0]!)).statusCode).toBe(404);
    expect((await use(k.alice, ids[2]!)).statusCode).toBe(200);
    // All callers: 4 at most; the fifth is refused, not someone else's evicted.
    expect((await post({ 'x-api-key': k.vera })).statusCode).toBe(200);
    expect((await post({ 'x-api-key': k.mallory })).statusCode).toBe(200);
    const full = await post({ 'x-api-key': (await t.issue('eve')).key });
    expect([full.statusCode, full.json().code]).toEqual([503, 'UNAVAILABLE']);
    expect((await use(k.alice, ids[1]!)).statusCode).toBe(200);

    // DELETE ends a session.
    const del = await t.app.inject({
      method: 'DELETE',
      url: '/mcp',
      headers: { host: url.host, 'x-api-key': k.alice, 'mcp-session-id': ids[1]! },
    });
    expect(del.statusCode).toBe(200);
    expect((await use(k.alice, ids[1]!)).statusCode).toBe(404);
    const get = await t.app.inject({
      method: 'GET',
      url: '/mcp',
      headers: { host: url.host, 'x-api-key': k.alice },
    });
    expect([get.statusCode, get.headers.allow]).toEqual([405, 'POST, DELETE']);
  });
});
