/**
 * The audit trail through the router on real SQLite: state-changing calls and refused
 * authentications are recorded with who, what, target, outcome, request id and source, never
 * bodies or keys; users read their own events, admins anyone's, with paging.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DataPlane } from '@agenttier/core';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../app.ts';
import { generateApiKey } from './api-key-format.ts';
import { SqliteApiKeyStore } from './sqlite-api-keys.ts';
import { SqliteAuditLog } from './sqlite-audit-log.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { insertApiKey } from '../testing/api-key.ts';

let keys: SqliteApiKeyStore;
let audit: SqliteAuditLog;
let app: FastifyInstance;
const key = { admin: '', alice: '' };

async function issue(id: string, isAdmin: boolean): Promise<string> {
  return (await insertApiKey(keys, id, { isAdmin })).key;
}

beforeEach(async () => {
  const store = await seededStore();
  keys = new SqliteApiKeyStore(':memory:');
  audit = new SqliteAuditLog(':memory:');
  app = createApp({
    store,
    dataPlaneFor: async (): Promise<DataPlane> => {
      throw new Error('no data plane');
    },
    logger: pino({ level: 'silent' }),
    apiKeys: keys,
    auditLog: audit,
  });
  await app.ready();
  key.admin = await issue('admin', true);
  key.alice = await issue('alice', false);
});
afterEach(async () => {
  await app.close();
  keys.close();
  audit.close();
});

describe('audit trail', () => {
  it('records a create and a failed authentication, without bodies or keys', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { 'x-api-key': key.alice, 'x-request-id': 'req-create-1' },
      payload: { name: 'box', template: 'general-coding', env: [{ name: 'SECRET', value: 'hunter2' }] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const guessed = generateApiKey();
    const refused = await app.inject({
      method: 'GET',
      url: '/api/v1/sandboxes',
      headers: { 'x-api-key': guessed },
      remoteAddress: '10.1.2.3',
    });
    expect(refused.statusCode).toBe(401);
    const all = await app.inject({
      method: 'GET',
      url: '/api/v1/audit/events',
      headers: { 'x-api-key': key.admin },
    });
    expect(all.statusCode, all.body).toBe(200);
    const { events } = all.json() as { events: Array<Record<string, unknown>> };
    expect(events).toEqual([
      expect.objectContaining({ action: 'GET /api/v1/sandboxes', status: 401, source: '10.1.2.3' }),
      expect.objectContaining({
        actor: 'alice',
        action: 'POST /api/v1/sandboxes',
        status: 201,
        requestId: 'req-create-1',
      }),
    ]);
    expect(events[0]).not.toHaveProperty('actor');
    expect(all.body).not.toContain('hunter2');
    expect(all.body).not.toContain(guessed.slice(4));
    expect(all.body).not.toContain(key.alice.slice(4));
  });

  it('users read only their own events; admins filter and page', async () => {
    for (const name of ['a1', 'a2', 'a3'])
      await app.inject({
        method: 'POST',
        url: '/api/v1/sandboxes',
        headers: { 'x-api-key': key.alice },
        payload: { name, template: 'general-coding' },
      });
    await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { 'x-api-key': key.admin },
      payload: { name: 'adminbox', template: 'general-coding' },
    });
    const get = (who: 'admin' | 'alice', q: string) =>
      app.inject({ method: 'GET', url: `/api/v1/audit/events${q}`, headers: { 'x-api-key': key[who] } });
    const mine = (await get('alice', '')).json() as { events: Array<{ actor: string }> };
    expect(mine.events.map((e) => e.actor)).toEqual(['alice', 'alice', 'alice']);
    expect((await get('alice', '?actor=admin')).statusCode).toBe(403);
    const page1 = (await get('admin', '?actor=alice&limit=2')).json() as {
      events: Array<{ id: number }>;
      next: number;
    };
    expect(page1.events).toHaveLength(2);
    const page2 = (await get('admin', `?actor=alice&limit=2&before=${page1.next}`)).json() as {
      events: Array<{ id: number }>;
    };
    // Alice's events: three creates and the refused read of the admin's events (403 is audited).
    expect(page2.events).toHaveLength(2);
    expect(page2.events.every((e) => e.id < page1.next)).toBe(true);
    expect((await get('admin', '?limit=0')).statusCode).toBe(400);
    await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes/a2/stop',
      headers: { 'x-api-key': key.alice, 'content-type': 'application/json' },
      payload: '{}',
    });
    const byTarget = (await get('admin', '?target=sandbox:default/a2')).json() as {
      events: Array<{ action: string; actor: string }>;
    };
    expect(byTarget.events).toEqual([
      expect.objectContaining({ action: 'POST /api/v1/sandboxes/:id/stop', actor: 'alice' }),
    ]);
  });
});
