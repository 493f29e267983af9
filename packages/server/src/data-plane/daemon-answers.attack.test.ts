/**
 * Attack: code in a sandbox replaces sandboxd with a daemon whose JSON answers are well under every byte
 * cap but not what the API documents: extra fields, wrong types, strings far longer than any real one.
 * The router must pass on only the documented fields (extras dropped) and answer anything else with a
 * 502 RUNTIME_FAILED in the one error shape, never echoing the daemon's value. The daemon is a real
 * HTTP server on a unix socket, reached through the real sandboxd client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { Sandbox } from '@agenttier/contract';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { createSandboxdClient } from '@agenttier/sandboxd';
import type { DaemonApp } from '../testing/daemon-app.ts';
import { startDaemonApp } from '../testing/daemon-app.ts';
import { detachedInvoke } from '../testing/detached-invoke.ts';
import { SqliteAgentRecords } from '../agent/sqlite-agent-records.ts';

type Json = Record<string, unknown>;

const processAnswer = (): Json => ({
  id: 'p-1',
  name: 'job',
  kind: 'background',
  pid: 7,
  command: ['sleep', '60'],
  cwd: '/workspace',
  state: 'running',
  startedAt: '2026-03-01T12:00:00.000Z',
  finishedAt: null,
  exitCode: null,
  signal: null,
  timedOut: false,
  durationMs: null,
  killOnDetach: false,
  stdinOpen: false,
  attachments: 0,
  outputBytes: 0,
  bufferStartOffset: 0,
});
// sandboxd's own file info (the router turns it into the API's FileEntry).
const fileInfo = (): Json => ({
  name: 'a.txt',
  path: '/workspace/a.txt',
  isDir: false,
  isFile: true,
  isSymlink: false,
  size: 5,
  mode: 420,
  modeString: '-rw-r--r--',
  modifiedAt: '2026-03-01T12:00:00.000Z',
});

/** One daemon answer the router passes on, and where the passed-on object sits on each side. */
interface Case {
  what: string;
  /** The daemon call that answers: method and path. */
  daemonPath: string;
  daemonStatus: number;
  answer: () => Json;
  /** The object inside the daemon's answer that reaches the client (what the attack edits). */
  payload: (answer: Json) => Json;
  call: ['GET' | 'POST' | 'PUT' | 'DELETE', string, unknown?];
  status: number;
  /** The passed-on object in the router's answer; absent when only a number of it is used. */
  seen?: (body: Json) => Json;
  wrongType: [string, unknown];
  huge: [string, unknown];
}

const first = (key: string) => (o: Json) => (o[key] as Json[])[0]!;
const itself = (o: Json) => o;
const HUGE = 'A'.repeat(1024 * 1024); // 1 MiB: far under the 16 MiB answer cap, far over any real field

const processCase = (what: string, daemonPath: string, call: Case['call'], daemonStatus = 200): Case => ({
  what,
  daemonPath,
  daemonStatus,
  answer: processAnswer,
  payload: itself,
  call,
  status: daemonStatus,
  seen: itself,
  wrongType: ['pid', '7; reboot'],
  huge: ['name', HUGE],
});

const CASES: Case[] = [
  processCase(
    'start a process',
    'POST /v1/processes',
    ['POST', '/processes', { command: ['sleep', '60'] }],
    201,
  ),
  {
    ...processCase('list processes', 'GET /v1/processes', ['GET', '/processes']),
    answer: () => ({ processes: [processAnswer()] }),
    payload: first('processes'),
    seen: first('processes'),
    wrongType: ['command', 'sleep 60'],
    huge: ['cwd', `/${HUGE}`],
  },
  { ...processCase('get a process', 'GET /v1/processes/p-1', ['GET', '/processes/p-1']), huge: ['id', HUGE] },
  {
    ...processCase('signal a process', 'POST /v1/processes/p-1/signal', [
      'POST',
      '/processes/p-1/signal',
      { signal: 'SIGTERM' },
    ]),
    wrongType: ['exitCode', '0'],
  },
  {
    ...processCase('kill a process', 'POST /v1/processes/p-1/kill', ['DELETE', '/processes/p-1']),
    wrongType: ['state', 'pwned'],
    // Two arguments, each longer than the kernel lets one be.
    huge: ['command', ['x'.repeat(200 * 1024), 'y'.repeat(200 * 1024)]],
  },
  {
    what: 'stat',
    daemonPath: 'GET /v1/files/stat',
    daemonStatus: 200,
    answer: fileInfo,
    payload: itself,
    call: ['GET', '/fs/stat?path=/workspace/a.txt'],
    status: 200,
    seen: itself,
    wrongType: ['size', '5'],
    huge: ['name', HUGE],
  },
  {
    what: 'mkdir',
    daemonPath: 'POST /v1/files/mkdir',
    daemonStatus: 201,
    answer: fileInfo,
    payload: itself,
    call: ['POST', '/fs/mkdir', { path: '/workspace/d' }],
    status: 201,
    seen: itself,
    wrongType: ['isDir', 'yes'],
    huge: ['path', `/workspace/${HUGE}`],
  },
  {
    what: 'rename',
    daemonPath: 'POST /v1/files/rename',
    daemonStatus: 200,
    answer: fileInfo,
    payload: itself,
    call: ['POST', '/fs/rename', { from: '/workspace/a.txt', to: '/workspace/b.txt' }],
    status: 200,
    seen: itself,
    wrongType: ['name', { toString: 'x' }],
    huge: ['symlinkTarget', HUGE],
  },
  {
    what: 'list a directory',
    daemonPath: 'GET /v1/files/list',
    daemonStatus: 200,
    answer: () => ({ path: '/workspace', entries: [fileInfo()] }),
    payload: first('entries'),
    call: ['GET', '/files/?path=/workspace'],
    status: 200,
    seen: first('entries'),
    wrongType: ['modifiedAt', 1772366400],
    huge: ['modeString', HUGE],
  },
  {
    what: 'write a file',
    daemonPath: 'PUT /v1/files/write',
    daemonStatus: 201,
    answer: () => ({ path: '/workspace/a.txt', bytes: 5 }),
    payload: itself,
    call: ['PUT', '/files/workspace/a.txt', Buffer.from('hello')],
    status: 201,
    wrongType: ['bytes', '5'],
    huge: ['bytes', 1e300],
  },
  {
    what: 'exec',
    daemonPath: 'POST /v1/exec',
    daemonStatus: 200,
    answer: () => ({
      stdout: 'hi\n',
      stderr: '',
      exitCode: 0,
      signal: null,
      durationMs: 3,
      timedOut: false,
      truncated: false,
    }),
    payload: itself,
    call: ['POST', '/exec', { command: 'echo hi' }],
    status: 200,
    seen: itself,
    wrongType: ['exitCode', '0'],
    huge: ['signal', HUGE],
  },
  {
    what: 'listening ports',
    daemonPath: 'GET /v1/ports',
    daemonStatus: 200,
    answer: () => ({
      ports: [{ port: 8000, address: '127.0.0.1', family: 'tcp', inode: 1, pid: null, command: null }],
    }),
    payload: first('ports'),
    call: ['GET', '/ports'],
    status: 200,
    wrongType: ['port', '8000'],
    huge: ['port', 2 ** 40],
  },
];

let dir: string;
let daemon: Server;
let client: SandboxdClient;
let t: DaemonApp;
const agentRecords = new SqliteAgentRecords(':memory:');
/** What the daemon answers, by method and path; unset ones get their honest answer. */
const answers = new Map<string, { status: number; body: unknown }>();
/** The raw text of the watch stream the daemon sends. */
let watchStream = '';
/** The JSON messages of a process attach channel, around one stdout frame `hi\n` after the first. */
let attachMessages: Json[] = [];
const attached = (): Json => ({ type: 'attached', process: processAnswer(), fromOffset: 0, droppedBytes: 0 });
const exited = (): Json => ({ type: 'exit', exitCode: 0, signal: null, timedOut: false, durationMs: 5 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'daemon-answers-'));
  daemon = createServer((req, res) => {
    req.resume();
    const path = `${req.method} ${new URL(req.url ?? '/', 'http://sandboxd').pathname}`;
    if (path === 'GET /v1/files/watch') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return void res.end(watchStream);
    }
    const honest = CASES.find((c) => c.daemonPath === path);
    const a = answers.get(path) ?? (honest && { status: honest.daemonStatus, body: honest.answer() });
    if (!a) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: { code: 'not_found', message: path } }));
    }
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(a.body));
  });
  const wss = new WebSocketServer({ noServer: true });
  daemon.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const [first, ...rest] = attachMessages;
      ws.send(JSON.stringify(first));
      const frame = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('hi\n')]);
      ws.send(frame, { binary: true });
      for (const m of rest) ws.send(JSON.stringify(m));
      ws.close();
    });
  });
  const socketPath = join(dir, 'sandboxd.sock');
  await new Promise<void>((resolve) => daemon.listen(socketPath, resolve));
  client = createSandboxdClient({ socketPath }, 't'.repeat(32));
  t = await startDaemonApp(client, { agentRecords });
  expect((await t.call('POST', '/ports', { port: 8000 })).statusCode).toBe(201);
});
afterEach(() => answers.clear());
afterAll(async () => {
  client?.close();
  await t?.close();
  agentRecords.close();
  await new Promise((resolve) => daemon.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Sets the daemon's answer for `c` to its honest one with `edit` applied to the passed-on object. */
function hostile(c: Case, edit: (payload: Json) => void): void {
  const body = c.answer();
  edit(c.payload(body));
  answers.set(c.daemonPath, { status: c.daemonStatus, body });
}

async function refused(c: Pick<Case, 'what' | 'call'>) {
  const r = await t.call(...c.call);
  expect(r.statusCode, `${c.what}: ${r.body.slice(0, 300)}`).toBe(502);
  const body = r.json() as Json;
  expect(Object.keys(body)).toEqual(expect.arrayContaining(['error', 'code', 'message', 'requestId']));
  expect(body.code).toBe('RUNTIME_FAILED');
  // Says what was wrong, never repeats what the daemon wrote.
  expect(String(body.message)).toMatch(/does not fit the API's schema/);
  expect(r.body.length).toBeLessThan(4096);
  return String(body.message);
}

describe("a hostile daemon's answers reach clients only in the documented shape", () => {
  it.each(CASES)('$what: the honest answer passes', async (c) => {
    const r = await t.call(...c.call);
    expect(r.statusCode, r.body).toBe(c.status);
  });

  it.each(CASES.filter((c) => c.seen))('$what: fields the schema does not know are dropped', async (c) => {
    hostile(c, (p) => Object.assign(p, { evil: '<script>alert(1)</script>', isAdmin: true }));
    const r = await t.call(...c.call);
    expect(r.statusCode, r.body).toBe(c.status);
    const seen = c.seen!(r.json() as Json);
    expect(seen).not.toHaveProperty('evil');
    expect(seen).not.toHaveProperty('isAdmin');
  });

  it.each(CASES)('$what: a value of the wrong type is a 502', async (c) => {
    hostile(c, (p) => (p[c.wrongType[0]] = c.wrongType[1]));
    expect(await refused(c)).toContain(c.wrongType[0]);
  });

  it.each(CASES)('$what: a value over its documented size is a 502', async (c) => {
    hostile(c, (p) => (p[c.huge[0]] = c.huge[1]));
    await refused(c);
  });

  it('a port list longer than any machine has ports is a 502', async () => {
    const ports = Array.from({ length: 200_000 }, () => ({ port: 8000 }));
    answers.set('GET /v1/ports', { status: 200, body: { ports } });
    await refused(CASES.find((c) => c.daemonPath === 'GET /v1/ports')!);
  });

  it.each([
    ['list processes', 'GET /v1/processes', (l: unknown[]) => ({ processes: l })],
    ['list a directory', 'GET /v1/files/list', (l: unknown[]) => ({ path: '/workspace', entries: l })],
  ] as const)(
    '%s: a 2 MB list of `{}` (over the bound) and 60,000 of them (within it) are 502s',
    async (what, path, wrap) => {
      // Parsed whole, 60,000 `{}` were over a million zod issues; 2 MB of them ran the router out of memory.
      for (const length of [700_000, 60_000]) {
        answers.set(path, { status: 200, body: wrap(Array.from({ length }, () => ({}))) });
        const message = await refused(CASES.find((c) => c.what === what)!);
        expect(message).toMatch(length > 65_536 ? /too_big/ : /0\.\w+: invalid_type/);
      }
    },
  );

  it('file watch: a change event out of shape ends the stream with an error event', async () => {
    watchStream = [
      `event: change\ndata: ${JSON.stringify({ type: 'created', path: '/workspace/ok' })}\n\n`,
      `event: change\ndata: ${JSON.stringify({ type: 'created', path: `/workspace/${'B'.repeat(8000)}` })}\n\n`,
      `event: change\ndata: ${JSON.stringify({ type: 'created', path: '/workspace/after' })}\n\n`,
    ].join('');
    const r = await t.call('GET', '/fs/watch?path=/workspace');
    expect(r.body).toContain('"path":"/workspace/ok"');
    expect(r.body).toMatch(/event: error\ndata: .*RUNTIME_FAILED/);
    expect(r.body).not.toContain('BBBB');
    expect(r.body).not.toContain('/workspace/after');
  });

  describe('process output stream', () => {
    const output = () => t.call('GET', '/processes/p-1/output');

    it('passes on an honest attachment', async () => {
      attachMessages = [attached(), exited()];
      const r = await output();
      expect(r.statusCode).toBe(200);
      expect(r.body).toMatch(/event: start\ndata: \{"processId":"p-1","pid":7,/);
      expect(r.body).toMatch(
        /event: exit\ndata: \{"exitCode":0,"signal":null,"timedOut":false,"durationMs":5\}/,
      );
    });

    it('a start out of shape is a 502 before the stream', async () => {
      attachMessages = [{ ...attached(), process: { ...processAnswer(), pid: '7; reboot' } }, exited()];
      expect(await refused({ what: 'attach', call: ['GET', '/processes/p-1/output'] })).toContain('pid');
    });

    it("an error before the start: only the catalogue's codes, the message cleaned and capped", async () => {
      // Terminal escapes (clear screen, set title) and 200,000 characters: echoed, the CLI printed them.
      const message = `\u001b[2J\u001b]0;pwned\u0007 ${'M'.repeat(200_000)}`;
      for (const code of ['__proto__', 'constructor', 'toString', 'bad_answer', 'no_such_code']) {
        attachMessages = [{ type: 'error', code, message }];
        const r = await output();
        expect(r.statusCode, `${code}: ${r.body.slice(0, 200)}`).toBe(502);
        expect(r.json()).toMatchObject({ code: 'RUNTIME_FAILED' });
        expect(r.body).not.toContain('pwned');
      }
      attachMessages = [{ type: 'error', code: 'permission_denied', message }];
      const r = await output();
      expect(r.statusCode).toBe(403);
      const body = r.json() as Json;
      expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'requestId']);
      // eslint-disable-next-line no-control-regex -- control characters are what it looks for
      expect(String(body.message)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(String(body.message).length).toBeLessThanOrEqual(4096 + 1);
    });

    it('an exit or error event out of shape ends the stream with an error event, not its values', async () => {
      for (const bad of [
        { ...exited(), exitCode: HUGE },
        { ...exited(), signal: HUGE },
        { type: 'error', code: 'internal', message: HUGE },
      ]) {
        attachMessages = [attached(), bad, exited()];
        const r = await output();
        expect(r.body).toMatch(/event: error\ndata: \{"code":"RUNTIME_FAILED"/);
        expect(r.body).not.toContain('AAAA');
        expect(r.body).not.toMatch(/event: exit/);
      }
    });

    it('an endless run of error events ends the stream at the first', async () => {
      // Unbounded, each event was queued for a client that did not read (router memory, no backpressure).
      const error = { type: 'error', code: 'internal', message: 'E'.repeat(4000) };
      attachMessages = [attached(), ...Array.from({ length: 500 }, () => error), exited()];
      const r = await output();
      expect(r.statusCode).toBe(200);
      expect(r.body.match(/event: error\n/g)).toHaveLength(1);
      expect(r.body).not.toMatch(/event: exit/);
    });

    it('exec/stream: a started process id out of shape is a 502 before the stream (not a header)', async () => {
      attachMessages = [attached(), exited()];
      const start = CASES.find((c) => c.daemonPath === 'POST /v1/processes')!;
      for (const id of [{ isAdmin: true, evil: '<script>alert(1)</script>' }, 'p-1\r\nset-cookie: x=1']) {
        hostile(start, (p) => (p.id = id));
        const r = await t.call('POST', '/exec/stream', { command: ['true'] });
        expect(r.statusCode, r.body.slice(0, 300)).toBe(502);
        expect(r.json()).toMatchObject({ code: 'RUNTIME_FAILED' });
        expect(r.headers['x-process-id']).toBeUndefined();
        expect(r.body).not.toMatch(/isAdmin|set-cookie/);
      }
      answers.clear();
      const honest = await t.call('POST', '/exec/stream', { command: ['true'] });
      expect(honest.headers['x-process-id']).toBe('p-1');
      expect(honest.body).toMatch(/event: start\ndata: \{"processId":"p-1"/);
    });

    it('agent configure: an install exit code out of shape never reaches the result', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/sandboxes',
        payload: { name: 'agentbox', templateRef: { name: 'langgraph-agent' } },
      });
      expect(created.statusCode, created.body).toBe(201);
      const sb = (await t.store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'agentbox' }))!;
      await t.store.updateStatus<Sandbox>({
        ...sb,
        status: { ...sb.status, phase: 'Running', reason: 'Ready', startedAt: '2026-03-01T12:00:00Z' },
      });
      const configure = () =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/sandboxes/agentbox/configure',
          payload: { installCommand: ['true'] },
        });
      for (const exitCode of [{ isAdmin: true, evil: '<img src=x onerror=alert(1)>' }, 256, 0.5, '0']) {
        attachMessages = [attached(), { ...exited(), exitCode }];
        const r = await configure();
        expect(r.body).not.toMatch(/event: result/);
        expect(r.body).not.toMatch(/isAdmin|onerror|256|0\.5/);
        expect(r.body).toMatch(
          /event: error\ndata: .*install could not run: .*does not fit the API's schema/,
        );
      }
      attachMessages = [attached(), { ...exited(), exitCode: 3 }];
      expect((await configure()).body).toMatch(/event: result\ndata: .*"installExitCode":3/);
    });

    it('an agent invoke whose exit event is out of shape is recorded as an error, not with its values', async () => {
      const { store, run } = await detachedInvoke({
        client,
        processId: 'p-1',
        invokeId: 'inv-1',
        sandbox: 'box',
      });
      try {
        attachMessages = [attached(), { ...exited(), exitCode: '0; reboot' }];
        await run.start();
        const finished = await run.finished;
        expect(finished).toMatchObject({ state: 'finished', reason: 'error', exitCode: -1 });
        expect(finished.message).toMatch(/does not fit the API's schema/);
      } finally {
        store.close();
      }
    });
  });
});
