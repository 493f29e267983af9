/**
 * Attack: code in a sandbox replaces sandboxd with a daemon that answers every call with 1.5 GiB. The
 * router must read at most its caps, end each call with a clear error in the one error shape, and
 * keep its memory flat (issue 8 item 4: one such exec once took the router from 280 MiB to 4.8 GiB).
 *
 * The daemon runs in its own process (testing/hostile-sandboxd.ts) so only the router's memory
 * is measured here. Bounds are on bytes, never on time.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { Sandbox } from '@agenttier/contract';
import type { SqliteStore } from '@agenttier/platform-local';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { createSandboxdClient } from '@agenttier/sandboxd';
import { eventually } from '@agenttier/testkit';
import { MAX_RECORDED_BYTES } from '../agent/invoke-run.ts';
import { SseStream } from '../agent/sse.ts';
import { SLOW_VIEWER_BYTES, streamInvoke } from '../routes/agent.ts';
import { createApp } from '../app.ts';
import { SandboxdDataPlane } from './sandboxd-data-plane.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { detachedInvoke } from '../testing/detached-invoke.ts';
import { noEngineFallback } from '../testing/daemon-app.ts';

const OFFER_BYTES = 1.5 * 1024 * 1024 * 1024;

// A full collection on demand, to measure what is kept rather than garbage not yet collected.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
/** Generous: the caps are 96 MiB for an exec answer (8 MiB per stream, JSON-escaped) and less elsewhere. */
const MAX_GROWTH_BYTES = 200 * 1024 * 1024;

interface Report {
  path: string;
  sentBytes: number;
  blocked: boolean;
}

let dir: string;
let daemon: ChildProcess;
let reports: Report[];
let store: SqliteStore;
let client: SandboxdClient;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hostile-sbd-'));
  const socketPath = join(dir, 'sandboxd.sock');
  reports = [];
  daemon = fork(new URL('../testing/hostile-sandboxd.ts', import.meta.url).pathname, [socketPath], {
    env: { ...process.env, OFFER_BYTES: String(OFFER_BYTES) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    daemon.once('error', reject);
    daemon.on('message', (m: Report | { listening: string }) => {
      if ('listening' in m) resolve();
      else reports.push(m);
    });
  });
  client = createSandboxdClient({ socketPath }, 'x'.repeat(32));
  store = await seededStore();
  const plane = new SandboxdDataPlane(() => client, noEngineFallback);
  app = createApp({
    store,
    dataPlaneFor: async () => plane,
    sandboxdFor: () => client,
    logger: pino({ level: 'silent' }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const created = await fetch(`${base}/api/v1/sandboxes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'victim', templateRef: { name: 'minimal-shell' } }),
  });
  expect(created.status, await created.text()).toBe(201);
  const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'victim' }))!;
  await store.updateStatus<Sandbox>({
    ...sb,
    status: { ...sb.status, phase: 'Running', reason: 'Ready', startedAt: '2026-03-01T12:00:00Z' },
  });
});

afterAll(async () => {
  client?.close();
  await app?.close();
  await store?.close();
  daemon?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** JavaScript heap and buffers still reachable after a full collection. */
function retained(): number {
  collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Runs `fn` while sampling this process's RSS; returns its result and the largest growth seen. */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

/** Resolves once the WebSocket is open; rejects on its first error. */
function opened(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
}

async function errorOf(res: Response) {
  const body = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(expect.arrayContaining(['code', 'error', 'message', 'requestId']));
  return { status: res.status, code: body.code, message: String(body.message) };
}

const sb = (p: string) => `${base}/api/v1/sandboxes/victim${p}`;

/** A detached invoke of the daemon's process `processId`, recorded in an in-memory store. */
const invokeRunOf = (invokeId: string, processId: string) =>
  detachedInvoke({ client, processId, invokeId, sandbox: 'victim' });

describe('a hostile sandboxd cannot grow the router', () => {
  it('exec: an endless answer ends the call with 413 at the answer cap', async () => {
    const { result, growth } = await measured(async () =>
      errorOf(
        await fetch(sb('/exec'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ command: 'true' }),
        }),
      ),
    );
    expect(result).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(result.message).toMatch(/sandboxd's answer to \/v1\/exec is over \d+ bytes/);
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
    const r = await eventually(() => reports.find((x) => x.path === '/v1/exec'), 'the daemon to stop');
    expect(r.sentBytes).toBeLessThan(OFFER_BYTES);
  });

  it('file read: a declared size over the cap is refused before any byte is relayed', async () => {
    const { result, growth } = await measured(async () =>
      errorOf(await fetch(sb('/files/workspace/declared-huge'))),
    );
    expect(result).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
  });

  it('file read: a body without a Content-Length is refused', async () => {
    const { result, growth } = await measured(async () =>
      errorOf(await fetch(sb('/files/workspace/chunked'))),
    );
    expect(result).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(result.message).toMatch(/Content-Length/);
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
  });

  it('listing, stat and process table: endless JSON ends at the JSON cap', async () => {
    for (const path of ['/files/?path=/workspace', '/fs/stat?path=/workspace/x', '/processes']) {
      const { result, growth } = await measured(async () => errorOf(await fetch(sb(path))));
      expect(result, path).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
      expect(growth, path).toBeLessThan(MAX_GROWTH_BYTES);
    }
  });

  it('archive: a tar longer than announced breaks the download at the cap', async () => {
    const { result, growth } = await measured(async () => {
      const res = await fetch(sb('/archive?path=/workspace'));
      const body = await res.arrayBuffer().then(
        (b) => Buffer.from(b).toString('latin1'),
        () => 'broken',
      );
      return { status: res.status, body };
    });
    // Either the cut came before the first zip byte (a clean error in the error shape) or the zip had
    // started and the download breaks; it never completes.
    if (result.status === 200) expect(result.body).toBe('broken');
    else expect(JSON.parse(result.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
    const r = await eventually(
      () => reports.find((x) => x.path === '/v1/files/archive'),
      'the daemon to stop',
    );
    expect(r.sentBytes).toBeLessThan(OFFER_BYTES);
  });

  it('an endless error body is cut to its first bytes', async () => {
    const { result, growth } = await measured(async () =>
      errorOf(await fetch(sb('/fs/stat?path=/workspace/error'))),
    );
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.message.length).toBeLessThan(1024);
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
  });

  it('file watch: an endless frame ends the stream with an error event', async () => {
    const { result, growth } = await measured(async () =>
      (await fetch(sb('/fs/watch?path=/workspace'))).text(),
    );
    expect(result).toMatch(/event: ready/);
    expect(result).toMatch(/event: error\ndata: .*bad watch stream from sandboxd: .* over \d+ characters/);
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
  });

  // A reader that stops reading, on the two channels the daemon streams into: the daemon must find
  // the router stalled (its writes blocked) before it got a quarter through, and the router stay flat.
  for (const { what, daemonPath, stopReading } of [
    {
      what: 'terminal: a browser',
      daemonPath: '/v1/pty',
      stopReading: async () => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/terminal/victim?session=main`);
        await opened(ws).catch((err: unknown) => {
          ws.terminate();
          throw err;
        });
        ws.pause(); // reads nothing more
        return () => ws.terminate();
      },
    },
    {
      what: 'process output: a client',
      daemonPath: '/v1/processes/p1/attach',
      stopReading: async () => {
        const url = new URL(sb('/processes/p1/output'));
        const sock = connect(Number(url.port), url.hostname);
        sock.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
        sock.pause(); // never reads: the kernel buffers fill, then the router's writes report false
        return () => sock.destroy();
      },
    },
  ])
    it(`${what} that stops reading stalls the daemon instead of filling the router`, async () => {
      let close: (() => void) | undefined;
      try {
        const { result: outcome, growth } = await measured(async () => {
          close = await stopReading();
          // Either the daemon finds the router stopped reading (stalled), or it got everything through.
          return eventually(
            () => reports.find((r) => r.path === daemonPath),
            'the daemon to stall or finish',
            120_000,
          );
        });
        expect(outcome.blocked).toBe(true);
        expect(outcome.sentBytes).toBeLessThan(OFFER_BYTES / 4);
        expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
      } finally {
        close?.();
      }
    });

  it(
    'agent invoke: endless output is recorded up to its byte cap, never held whole',
    { timeout: 300_000 },
    async () => {
      const { store, run } = await invokeRunOf('inv-1', 'invoke1');
      const retainedBefore = retained();
      try {
        // The whole 1.5 GiB goes through (an invoke is not paused for its viewers), so the peak holds
        // garbage V8 has not collected yet; what must stay small is what the run keeps.
        const { growth } = await measured(async () => {
          await run.start();
          return run.finished;
        });
        const r = reports.find((x) => x.path === '/v1/processes/invoke1/attach');
        expect(r?.sentBytes).toBeGreaterThanOrEqual(OFFER_BYTES);
        expect(run.record.bytesStdout).toBeGreaterThanOrEqual(OFFER_BYTES);
        expect(run.recordedDataBytes).toBeLessThanOrEqual(MAX_RECORDED_BYTES + 64 * 1024);
        expect(retained() - retainedBefore).toBeLessThan(MAX_GROWTH_BYTES);
        expect(growth).toBeLessThan(OFFER_BYTES / 2);
      } finally {
        store.close();
      }
    },
  );

  it(
    'tcp tunnel: a port that never reads stops the client instead of filling the router',
    { timeout: 150_000 },
    async () => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/tcp/victim/5432`);
      try {
        const { result: stalled, growth } = await measured(async () => {
          await opened(ws);
          // The client offers 1.5 GiB, topping its own buffer up to 16 MiB whenever it drains. It gives up
          // once the router has taken nothing for 40 polls in a row (stalled), or when all was taken.
          const chunk = Buffer.alloc(1024 * 1024, 'B');
          let sent = 0;
          let idlePolls = 0;
          let lastBuffered = -1;
          return eventually(
            () => {
              const buffered = ws.bufferedAmount;
              idlePolls = buffered > 0 && buffered === lastBuffered ? idlePolls + 1 : 0;
              while (sent < OFFER_BYTES && ws.bufferedAmount < 16 * 1024 * 1024) {
                ws.send(chunk, { binary: true });
                sent += chunk.length;
              }
              lastBuffered = ws.bufferedAmount;
              return (sent >= OFFER_BYTES || idlePolls >= 40) && { sent };
            },
            'the client to stall or send everything',
            120_000,
          );
        });
        expect(stalled.sent).toBeLessThan(OFFER_BYTES / 4);
        expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
      } finally {
        ws.terminate();
      }
    },
  );

  // Last: the run it starts keeps taking the daemon's 1.5 GiB until the daemon is stopped.
  it(
    'agent invoke: a viewer that stops reading is let go while the run goes on',
    { timeout: 150_000 },
    async () => {
      const { store, record, run } = await invokeRunOf('inv-2', 'invoke2');
      let res: ServerResponse | undefined;
      let closedWhileRunning: boolean | undefined;
      let mostBuffered = 0;
      const viewer = createServer((_req, r) => {
        res = r;
        r.once('close', () => (closedWhileRunning = run.isRunning));
        void streamInvoke(new SseStream(r, { requestId: 'slow' }), run, store, record.invokeId, 0);
      });
      await new Promise<void>((resolve) => viewer.listen(0, '127.0.0.1', resolve));
      const port = (viewer.address() as { port: number }).port;
      const sock = connect(port, '127.0.0.1');
      const sampler = setInterval(() => (mostBuffered = Math.max(mostBuffered, res?.writableLength ?? 0)), 5);
      try {
        await run.start();
        sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        sock.pause(); // reads nothing
        await eventually(() => closedWhileRunning !== undefined, 'the router to let the viewer go', 120_000);
        expect(closedWhileRunning).toBe(true);
        expect(mostBuffered).toBeLessThan(SLOW_VIEWER_BYTES + 4 * 1024 * 1024);
      } finally {
        clearInterval(sampler);
        sock.destroy();
        viewer.close();
      }
    },
  );
});
