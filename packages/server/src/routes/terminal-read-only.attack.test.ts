/**
 * A viewer's terminal is read-only, enforced by the router: against a real sandboxd on the host
 * (startLocalSandboxd) and real WebSockets, the viewer watches a session the owner opened (output and
 * replay), but their input and resizes never reach the shell, they cannot start a shell by naming a
 * session that is not open, and an operator downgraded to viewer is cut. The attach is audited with
 * its mode.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Sandbox } from '@agenttier/contract';
import { SqliteStore } from '@agenttier/platform-local';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { eventually } from '@agenttier/testkit';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { SqliteAuditLog } from '../auth/sqlite-audit-log.ts';
import { TERMINAL_MODE_HEADER } from './upgrades.ts';

let sd: LocalSandboxd;
beforeAll(async () => {
  sd = await startLocalSandboxd();
}, 300_000);
afterAll(async () => sd?.stop());

let t: AuthTestApp;
let store: SqliteStore;
let audit: SqliteAuditLog;
let base: string;
const k = { admin: '', alice: '', vera: '', otto: '', mallory: '' };

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:' });
  for (const tpl of BUILTIN_TEMPLATES) await store.create(structuredClone(tpl));
  audit = new SqliteAuditLog(':memory:');
  t = await startAuthTestApp({ store, sandboxdFor: () => sd.client, auditLog: audit });
  for (const who of Object.keys(k) as Array<keyof typeof k>)
    k[who] = (await t.issue(who, who === 'admin')).key;
  const tpl = await t.call(k.admin, 'POST', '/api/v1/templates', {
    name: 'host-shell',
    spec: { image: { repository: 'unused:dev' }, harness: { shell: '/bin/sh', workingDir: sd.workspace } },
  });
  expect(tpl.statusCode, tpl.body).toBe(201);
  const r = await t.call(k.alice, 'POST', '/api/v1/sandboxes', {
    name: 'box',
    templateRef: { name: 'host-shell' },
  });
  expect(r.statusCode, r.body).toBe(201);
  const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'box' }))!;
  await store.updateStatus<Sandbox>({ ...sb, status: { ...sb.status, phase: 'Running', reason: 'Ready' } });
  for (const [user, role] of [
    ['vera', 'viewer'],
    ['otto', 'operator'],
  ] as const)
    expect((await t.call(k.alice, 'PUT', `/api/v1/sandboxes/box/shares/${user}`, { role })).statusCode).toBe(
      200,
    );
  base = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
});
afterEach(async () => {
  for (const s of await sd.client.listTerminals())
    await sd.client.killTerminal(s.session).catch(() => undefined);
  await t.close();
  audit.close();
  await store.close();
});

interface Attached {
  ws: WebSocket;
  mode: string | undefined;
  frames: Array<{ type: string; data?: string; message?: string }>;
  text: () => string;
  closed: Promise<number>;
  send: (frame: unknown) => void;
}

function attach(key: string, query: string): Promise<Attached> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/ws/terminal/box${query}`, { headers: { 'x-api-key': key } });
    const frames: Attached['frames'] = [];
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    let mode: string | undefined;
    ws.on('upgrade', (res) => (mode = res.headers[TERMINAL_MODE_HEADER] as string | undefined));
    ws.on('message', (m) => frames.push(JSON.parse(m.toString()) as Attached['frames'][number]));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(body), { status: res.statusCode })));
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        mode,
        frames,
        closed,
        text: () => frames.map((f) => (f.type === 'output' ? (f.data ?? '') : '')).join(''),
        send: (frame) => ws.send(JSON.stringify(frame)),
      }),
    );
  });
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('attached');
    },
    (err: Error & { status?: number }) => ({
      status: err.status,
      body: JSON.parse(err.message) as { code: string; message: string },
    }),
  );

describe('a viewer’s terminal', () => {
  it('shows the owner’s session (replay and live output) and drops every input and resize frame', async () => {
    const owner = await attach(k.alice, '?session=work&cols=100&rows=30');
    expect(owner.mode).toBe('read-write');
    owner.send({ type: 'input', data: 'echo owner-$((6*7))\r' });
    await eventually(() => owner.text().includes('owner-42'), 'the owner’s output');

    // Size parameters on the attach would resize everyone's terminal: ignored for a viewer.
    const viewer = await attach(k.vera, '?session=work&cols=20&rows=5');
    expect(viewer.mode).toBe('read-only');
    await eventually(() => viewer.text().includes('owner-42'), 'the replay');

    const marker = join(sd.workspace, `viewer-wrote-${Date.now()}`);
    viewer.send({ type: 'input', data: `touch ${marker}; echo viewer-typed-$((5*5))\r` });
    viewer.send({ type: 'resize', cols: 33, rows: 11 });
    viewer.send({ type: 'input', data: '\u0003exit\r' });
    await eventually(
      () => viewer.frames.find((f) => f.type === 'error' && /read-only/.test(f.message ?? '')),
      'the read-only notice',
    );
    // The shell is still there and live: the owner's next line reaches both, the viewer's never ran.
    owner.send({ type: 'input', data: 'echo after-$((7*7))\r' });
    await eventually(() => viewer.text().includes('after-49'), 'live output after the viewer typed');
    expect(owner.text() + viewer.text()).not.toContain('viewer-typed-25');
    expect(existsSync(marker)).toBe(false);
    const session = (await sd.client.listTerminals()).find((s) => s.session === 'work');
    expect(session).toMatchObject({ cols: 100, rows: 30 });
    // Pings still work (keep-alive): answered by the session.
    const pongs = viewer.frames.filter((f) => f.type === 'pong').length;
    viewer.send({ type: 'ping' });
    await eventually(() => viewer.frames.filter((f) => f.type === 'pong').length > pongs, 'a pong');
    viewer.ws.close();
    owner.ws.close();
  });

  it('cannot start a shell: a session that is not open is 404 and none is created', async () => {
    for (const query of ['?session=ghost', '', '?session=main&cols=80']) {
      const r = await refusal(attach(k.vera, query));
      expect([r.status, r.body.code], query).toEqual([404, 'NOT_FOUND']);
      expect(r.body.message).toMatch(/not open.*read-only/);
    }
    expect(await sd.client.listTerminals()).toEqual([]);
    // A scoped key is no way round it: a viewer cannot mint one with terminal.
    const minted = await t.call(k.vera, 'POST', '/api/v1/user/api-keys', {
      name: 'agent',
      sandbox: 'box',
      verbs: ['terminal'],
    });
    expect(minted.statusCode).toBe(403);
    // A stranger still sees no sandbox at all.
    expect((await refusal(attach(k.mallory, '?session=ghost'))).status).toBe(404);
  });

  it('operators and owners keep read-write; an operator turned viewer is cut', async () => {
    const op = await attach(k.otto, '?session=ops');
    expect(op.mode).toBe('read-write');
    // The login shell's first output (its prompt) before typing, and a generous wait: a fresh-clone CI
    // run timed out at 10 s here with the machine busy.
    await eventually(() => op.text().length > 0, 'the operator’s shell started', { timeoutMs: 30_000 });
    op.send({ type: 'input', data: 'echo op-$((8*8))\r' });
    await eventually(() => op.text().includes('op-64'), 'the operator’s command ran', { timeoutMs: 30_000 });
    expect(
      (await t.call(k.alice, 'PUT', '/api/v1/sandboxes/box/shares/otto', { role: 'viewer' })).statusCode,
    ).toBe(200);
    await op.closed;
    const again = await attach(k.otto, '?session=ops');
    expect(again.mode).toBe('read-only');
    again.ws.close();

    const events = (await audit.query({ limit: 100 })).filter((e) => e.action.startsWith('WS /ws/terminal'));
    const rows = events.map((e) => [e.actor, e.action, e.detail, e.status]).reverse();
    expect(rows).toEqual([
      ['otto', 'WS /ws/terminal/:id', 'read-write', 101],
      ['otto', 'WS /ws/terminal/:id cut', 'read-write', 403],
      ['otto', 'WS /ws/terminal/:id', 'read-only', 101],
    ]);
  }, 90_000);
});
