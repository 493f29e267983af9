/**
 * The audit trail beyond plain API requests: WebSocket attaches (terminal, TCP tunnel, refused ones
 * included) and preview accesses (once per caller, target and outcome per window), on real SQLite and
 * real sockets; and the trail's retention by age and count.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AuditEvent } from '@agenttier/core';
import { requestWithHost } from '../testing/host-request.ts';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { createAccessAudit } from './access-audit.ts';
import { SqliteAuditLog } from './sqlite-audit-log.ts';

let audit: SqliteAuditLog;
let t: AuthTestApp;
const k = { alice: '', vera: '', mallory: '' };

beforeEach(async () => {
  audit = new SqliteAuditLog(':memory:');
  t = await startAuthTestApp({ auditLog: audit });
  for (const who of Object.keys(k) as Array<keyof typeof k>) k[who] = (await t.issue(who)).key;
  expect(
    (await t.call(k.alice, 'POST', '/api/v1/sandboxes', { name: 'box', template: 'general-coding' }))
      .statusCode,
  ).toBe(201);
  expect(
    (await t.call(k.alice, 'PUT', '/api/v1/sandboxes/box/shares/vera', { role: 'viewer' })).statusCode,
  ).toBe(200);
});
afterEach(async () => {
  await t.close();
  audit.close();
});

const events = async (): Promise<AuditEvent[]> => audit.query({ limit: 500 });

describe('WebSocket attaches are audited', () => {
  it('terminal and TCP attaches, refused or not, with who, target and status; never the key', async () => {
    const base = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', 'localhost');
    const attach = (path: string, key?: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, {
          headers: key ? { 'x-api-key': key } : {},
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error(`${path} opened`)));
        ws.on('error', reject);
      });
    expect(await attach('/ws/terminal/box', k.mallory)).toBe(404);
    expect(await attach('/ws/terminal/box', k.vera)).toBe(409); // a viewer watches: past the check
    expect(await attach('/ws/tcp/box/5432', k.vera)).toBe(403);
    expect(await attach('/ws/terminal/box', k.alice)).toBe(409); // not running
    expect(await attach('/ws/tcp/box/5432', k.alice)).toBe(409);
    expect(await attach('/ws/terminal/box')).toBe(401);
    const ws = (await events()).filter((e) => e.action.startsWith('WS '));
    expect(ws.map((e) => [e.actor, e.action, e.target, e.status]).reverse()).toEqual([
      ['mallory', 'WS /ws/terminal/:id', 'sandbox:default/box', 404],
      ['vera', 'WS /ws/terminal/:id', 'sandbox:default/box', 409],
      ['vera', 'WS /ws/tcp/:id/:port', 'sandbox:default/box', 403],
      ['alice', 'WS /ws/terminal/:id', 'sandbox:default/box', 409],
      ['alice', 'WS /ws/tcp/:id/:port', 'sandbox:default/box', 409],
      [undefined, 'WS /ws/terminal/:id', 'sandbox:default/box', 401],
    ]);
    for (const e of ws) expect(e.requestId).toMatch(/^ws-/);
    expect(JSON.stringify(ws)).not.toContain(k.alice.slice(4));
  });

  it('preview accesses: once per caller, target and outcome in a window', async () => {
    const base = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', 'localhost');
    const host = `8080-box--default.localhost:${new URL(base).port}`;
    for (let i = 0; i < 5; i++) {
      const owner = await requestWithHost(base, host, `/asset-${i}.js`, {
        headers: { 'x-api-key': k.alice },
      });
      expect(owner.status).not.toBe(404);
      const stranger = await requestWithHost(base, host, '/', { headers: { 'x-api-key': k.mallory } });
      expect(stranger.status).toBe(404);
    }
    const previews = (await events()).filter((e) => e.action === 'PREVIEW');
    expect(previews.map((e) => [e.actor, e.target, e.status]).reverse()).toEqual([
      ['alice', 'sandbox:default/box:8080', 200],
      ['mallory', 'sandbox:default/box:8080', 404],
    ]);
  });

  it('the preview window forgets after its time, and its memory is bounded', async () => {
    let now = 0;
    const log = new SqliteAuditLog(':memory:');
    const a = createAccessAudit(log, { previewWindowMs: 1000, maxPreviewKeys: 10, nowMs: () => now });
    const e = {
      action: 'PREVIEW',
      target: 'sandbox:default/x:1',
      status: 200,
      requestId: 'r',
      source: '1.2.3.4',
    };
    a.preview(e);
    a.preview(e);
    now = 1500;
    a.preview(e);
    for (let i = 0; i < 50; i++) a.preview({ ...e, source: `10.0.0.${i}` });
    a.preview(e); // forgotten by the 50 others: recorded again
    await new Promise<void>((r) => setImmediate(r));
    expect((await log.query({ limit: 500 })).length).toBe(3 + 50);
    log.close();
  });
});

describe('audit retention', () => {
  it('deletes events older than maxAgeDays and beyond maxEvents', async () => {
    let now = Date.parse('2026-01-31T00:00:00Z');
    const log = new SqliteAuditLog(':memory:', { maxEvents: 5, maxAgeDays: 10, nowMs: () => now });
    const at = (day: number) => `2026-01-${String(day).padStart(2, '0')}T12:00:00.000Z`;
    for (const day of [1, 5, 19, 20, 25, 26, 27, 28, 29, 30])
      await log.record({ at: at(day), action: 'POST x', status: 201, requestId: `d${day}`, source: 's' });
    log.trim();
    const kept = (await log.query({ limit: 100 })).map((e) => e.requestId);
    // Count: the newest 5; age: nothing before Jan 21.
    expect(kept).toEqual(['d30', 'd29', 'd28', 'd27', 'd26']);
    now = Date.parse('2026-02-08T00:00:00Z');
    log.trim();
    expect((await log.query({ limit: 100 })).map((e) => e.requestId)).toEqual(['d30', 'd29']);
    log.close();
    expect(() => new SqliteAuditLog(':memory:', { maxEvents: 0 })).toThrow(/maxEvents/);
  });
});
