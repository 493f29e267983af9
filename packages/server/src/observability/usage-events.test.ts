/**
 * The usage and events routes over real SQLite and a daemon on a real unix socket whose answers the
 * test controls: access (viewer reads, stranger 404), the one-second cache, figures from a lying
 * daemon refused, reading usage never counted as activity, events per sandbox uid.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { SqliteStore } from '@agenttier/platform-local';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { createSandboxdClient } from '@agenttier/sandboxd';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { SqliteSandboxEvents } from './sqlite-sandbox-events.ts';

const TOKEN = 'usage-test-token';
const GOOD = {
  cgroup: 'v2',
  cpu: { usageCores: 0.25, limitCores: 2, percent: 12.5, windowMs: 1000 },
  memory: { bytes: 104857600, workingSetBytes: 83886080, limitBytes: 536870912 },
  pids: { current: 9, max: 256 },
  storage: { path: '/workspace', usedBytes: 1 << 20, limitBytes: 1 << 30 },
  unavailable: {},
};

let dir: string;
let daemon: Server;
let client: SandboxdClient;
/** What the daemon answers to /v1/usage, and how often it was asked (with which path). */
const seen = { calls: 0, paths: [] as string[], body: GOOD as unknown };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'usage-route-'));
  daemon = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://d');
    if (url.pathname !== '/v1/usage' || req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'no' } }));
      return;
    }
    seen.calls++;
    seen.paths.push(url.searchParams.get('path') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(seen.body));
  });
  const socketPath = join(dir, 'sandboxd.sock');
  await new Promise<void>((resolve) => daemon.listen(socketPath, resolve));
  client = createSandboxdClient({ socketPath }, TOKEN);
});
afterAll(async () => {
  client.close();
  await new Promise((resolve) => daemon.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

let t: AuthTestApp;
let store: SqliteStore;
let events: SqliteSandboxEvents;
let nowMs: number;
const k = { alice: '', vera: '', mallory: '' };

beforeEach(async () => {
  seen.calls = 0;
  seen.paths = [];
  seen.body = GOOD;
  store = new SqliteStore({ path: ':memory:' });
  for (const tpl of BUILTIN_TEMPLATES) await store.create(structuredClone(tpl));
  nowMs = Date.parse('2026-03-01T12:00:00Z');
  events = new SqliteSandboxEvents(':memory:', { now: () => nowMs, maxPerSandbox: 5 });
  t = await startAuthTestApp({ store, sandboxdFor: () => client, sandboxEvents: events });
  for (const who of Object.keys(k) as Array<keyof typeof k>) k[who] = (await t.issue(who)).key;
  const r = await t.call(k.alice, 'POST', '/api/v1/sandboxes', {
    name: 'box',
    template: 'minimal-shell',
    storage: { mountPath: '/home/work' },
  });
  expect(r.statusCode, r.body).toBe(201);
  const s = await t.call(k.alice, 'PUT', '/api/v1/sandboxes/box/shares/vera', { role: 'viewer' });
  expect(s.statusCode, s.body).toBe(200);
});
afterEach(async () => {
  await t.close();
  events.close();
  await store.close();
});

const box = () => store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'box' }) as Promise<Sandbox>;

async function setRunning(): Promise<Sandbox> {
  const sb = await box();
  return store.updateStatus<Sandbox>({ ...sb, status: { ...sb.status, phase: 'Running', reason: 'Ready' } });
}

describe('GET /api/v1/sandboxes/{id}/usage', () => {
  it("answers the daemon's figures for the workspace mount to the owner and a viewer; a stranger gets 404", async () => {
    await setRunning();
    const r = await t.call(k.vera, 'GET', '/api/v1/sandboxes/box/usage');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ ...GOOD, sandboxId: 'box', namespace: 'default' });
    expect(Date.parse(r.json().sampledAt)).not.toBeNaN();
    expect(r.headers['cache-control']).toBe('no-store');
    expect(seen.paths).toEqual(['/home/work']);
    expect((await t.call(k.alice, 'GET', '/api/v1/sandboxes/box/usage')).statusCode).toBe(200);
    const stranger = await t.call(k.mallory, 'GET', '/api/v1/sandboxes/box/usage');
    expect([stranger.statusCode, stranger.json().code]).toEqual([404, 'SANDBOX_NOT_FOUND']);
    const missing = await t.call(k.mallory, 'GET', '/api/v1/sandboxes/nope/usage');
    expect(stranger.json().message.replace('"box"', '"nope"')).toBe(missing.json().message);
  });

  it('measures once a second per sandbox, whoever asks', async () => {
    await setRunning();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.call(i % 2 ? k.vera : k.alice, 'GET', '/api/v1/sandboxes/box/usage'),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(200));
    expect(seen.calls).toBe(1);
  });

  it('does not count as activity (a polled dashboard must not keep an idle sandbox alive)', async () => {
    await setRunning();
    const before = (await box()).status?.lastActivityTimestamp;
    expect((await t.call(k.alice, 'GET', '/api/v1/sandboxes/box/usage')).statusCode).toBe(200);
    expect((await box()).status?.lastActivityTimestamp).toBe(before);
  });

  it('is 409 for a sandbox that is not running, without asking its daemon', async () => {
    const r = await t.call(k.alice, 'GET', '/api/v1/sandboxes/box/usage');
    expect([r.statusCode, r.json().code]).toEqual([409, 'SANDBOX_NOT_RUNNING']);
    expect(seen.calls).toBe(0);
  });

  it('refuses figures from a lying daemon with 502 instead of passing them on', async () => {
    await setRunning();
    for (const body of [
      { ...GOOD, memory: { ...GOOD.memory, bytes: -1 } },
      { ...GOOD, pids: { current: 'lots', max: null } },
      { ...GOOD, cpu: { ...GOOD.cpu, usageCores: 1e300 } },
      { ...GOOD, unavailable: { cpu: 'x'.repeat(10_000) } },
      { ...GOOD, cgroup: '<script>' },
      [1, 2, 3],
    ]) {
      seen.body = body;
      const r = await t.call(k.alice, 'GET', '/api/v1/sandboxes/box/usage');
      expect([r.statusCode, r.json().code], JSON.stringify(body).slice(0, 80)).toEqual([
        502,
        'RUNTIME_FAILED',
      ]);
      expect(r.body).not.toContain('<script>');
    }
  });
});

describe('GET /api/v1/sandboxes/{id}/events', () => {
  it('lists what was recorded for this sandbox, oldest first, repeats counted; viewer yes, stranger 404', async () => {
    const sb = await box();
    events.record(sb, { type: 'Normal', reason: 'Creating', message: 'new → Creating' });
    nowMs += 2000;
    events.record(sb, {
      type: 'Warning',
      reason: 'BackOff',
      message: 'engine said no; retrying with back-off',
    });
    nowMs += 5000;
    events.record(sb, {
      type: 'Warning',
      reason: 'BackOff',
      message: 'engine said no; retrying with back-off',
    });
    const r = await t.call(k.vera, 'GET', '/api/v1/sandboxes/box/events');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().events).toEqual([
      {
        type: 'Normal',
        reason: 'Creating',
        message: 'new → Creating',
        count: 1,
        firstTimestamp: '2026-03-01T12:00:00Z',
        lastTimestamp: '2026-03-01T12:00:00Z',
        source: 'agenttier-controller',
      },
      {
        type: 'Warning',
        reason: 'BackOff',
        message: 'engine said no; retrying with back-off',
        count: 2,
        firstTimestamp: '2026-03-01T12:00:02Z',
        lastTimestamp: '2026-03-01T12:00:07Z',
        source: 'agenttier-controller',
      },
    ]);
    const stranger = await t.call(k.mallory, 'GET', '/api/v1/sandboxes/box/events');
    expect([stranger.statusCode, stranger.json().code]).toEqual([404, 'SANDBOX_NOT_FOUND']);
  });

  it('keeps a bounded number per sandbox, and none of an earlier sandbox of the same name', async () => {
    const sb = await box();
    for (let i = 0; i < 12; i++) events.record(sb, { type: 'Normal', reason: 'Step', message: `step ${i}` });
    const kept = (await events.list(sb)).map((e) => e.message);
    expect(kept).toEqual(['step 7', 'step 8', 'step 9', 'step 10', 'step 11']);
    const reborn = { ...sb, metadata: { ...sb.metadata, uid: 'another-uid' } };
    expect(await events.list(reborn)).toEqual([]);
    expect(events.keepOnly(new Set(['another-uid']))).toBe(1);
    expect(await events.list(sb)).toEqual([]);
  });
});
