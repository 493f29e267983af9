import { eventually } from '@agenttier/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer } from 'ws';
import { AgentTier } from './client.ts';
import {
  ConcurrencyError,
  ConfigureError,
  ConnectionError,
  NotConfiguredError,
  NotFoundError,
  RateLimitError,
  ServerError,
  ValidationError,
} from './errors.ts';
import {
  openSse,
  processView,
  routeInvokeStream,
  routeRunningInvoke,
  sandboxView,
  sendJson,
} from './testing/test-server.ts';
import { useTestServer } from './testing/use-test-server.ts';
import type { InvokeEvent } from './types.ts';
import type { WebSocketConstructor } from './websocket.ts';

const server = useTestServer();
let client: AgentTier;
const base = '/api/v1/sandboxes/x';

beforeEach(() => {
  client = new AgentTier({ apiUrl: server.url, env: {} });
});

const proc = processView;

describe('execStream', () => {
  it('keeps byte offsets and stops at exit', async () => {
    server.route(`POST ${base}/exec/stream`, (_req, res) => {
      const sse = openSse(res);
      sse.send('start', { processId: 'p1', pid: 7, fromOffset: 0, droppedBytes: 0 });
      sse.send('stdout', { data: 'ab', offset: 0 }, 2);
      sse.send('stderr', { data: 'c', offset: 2 }, 3);
      sse.send('exit', { exitCode: 0, signal: null, timedOut: false, durationMs: 5 });
      sse.end();
    });
    const events = [];
    for await (const ev of client.sandbox('x').execStream('x')) events.push(ev);
    expect(events).toEqual([
      { type: 'start', processId: 'p1', pid: 7, fromOffset: 0, droppedBytes: 0 },
      { type: 'stdout', data: 'ab', offset: 0, nextOffset: 2 },
      { type: 'stderr', data: 'c', offset: 2, nextOffset: 3 },
      { type: 'exit', exitCode: 0, signal: null, timedOut: false, durationMs: 5 },
    ]);
  });

  it('throws the error an `error` event describes', async () => {
    server.route(`POST ${base}/exec/stream`, (_req, res) => {
      const sse = openSse(res);
      sse.send('error', { code: 'internal', message: 'attach failed' });
      sse.end();
    });
    const drain = async () => {
      for await (const _ of client.sandbox('x').execStream('x')) {
        // drain
      }
    };
    await expect(drain()).rejects.toThrow(ServerError);
    await expect(drain()).rejects.toThrow('attach failed');
  });
});

describe('processes', () => {
  it('starts, lists, gets, signals and kills with the namespace', async () => {
    server.route(`POST ${base}/processes`, (req, res) => {
      expect(req.query.get('namespace')).toBe('team');
      sendJson(res, 201, proc('p1', { name: req.json<{ name: string }>().name }));
    });
    server.route(`GET ${base}/processes`, (_req, res) => sendJson(res, 200, { processes: [proc('p1')] }));
    server.route(`GET ${base}/processes/p1`, (_req, res) => sendJson(res, 200, proc('p1')));
    server.route(`POST ${base}/processes/p1/signal`, (req, res) =>
      sendJson(res, 200, proc('p1', { signal: req.json<{ signal: string }>().signal })),
    );
    server.route(`DELETE ${base}/processes/p1`, (_req, res) =>
      sendJson(res, 200, proc('p1', { state: 'exited', exitCode: 137, signal: 'SIGKILL' })),
    );
    server.route(`GET ${base}/processes/nope`, (_req, res) =>
      sendJson(res, 404, { error: 'process nope not found', code: 'PROCESS_NOT_FOUND' }),
    );
    const sb = client.sandbox('x', { namespace: 'team' });
    const started = await sb.processes.start(['python3', '-m', 'http.server'], {
      name: 'web',
      timeoutSec: 60,
      env: { A: '1' },
      cwd: '/tmp',
    });
    expect(started).toMatchObject({ id: 'p1', name: 'web' });
    expect(server.requests[0]?.json()).toEqual({
      command: ['python3', '-m', 'http.server'],
      name: 'web',
      timeout: 60,
      env: { A: '1' },
      cwd: '/tmp',
    });
    expect((await sb.processes.list()).map((p) => p.id)).toEqual(['p1']);
    expect((await sb.processes.get('p1')).pid).toBe(42);
    expect((await sb.processes.signal('p1', 'TERM')).signal).toBe('TERM');
    expect(await sb.processes.kill('p1')).toMatchObject({ state: 'exited', exitCode: 137 });
    await expect(sb.processes.get('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(sb.processes.start([])).rejects.toThrow(TypeError);
  });

  it('replays output from an offset and resumes after a dropped connection without repeats', async () => {
    const seenIds: Array<string | undefined> = [];
    let calls = 0;
    server.route(`GET ${base}/processes/p1/output`, async (req, res) => {
      calls++;
      seenIds.push(req.headers['last-event-id'] as string | undefined);
      const from = Number(req.headers['last-event-id'] ?? 0);
      const sse = openSse(res);
      sse.send('start', { processId: 'p1', pid: 1, fromOffset: from, droppedBytes: 0 });
      const chunks = ['one\n', 'two\n', 'three\n'];
      let offset = 0;
      for (const c of chunks) {
        const sent = offset >= from ? sse.send('stdout', { data: c, offset }, offset + c.length) : undefined;
        offset += c.length;
        // The first connection breaks after the second chunk (once it is on its way to the client).
        if (calls === 1 && offset === 8) {
          await sent;
          sse.destroy();
          return;
        }
      }
      sse.send('exit', { exitCode: 0, signal: null, timedOut: false, durationMs: 9 });
      sse.end();
    });
    const out: string[] = [];
    let starts = 0;
    for await (const ev of client.sandbox('x').processes.output('p1', { fromOffset: 4 })) {
      if (ev.type === 'start') starts++;
      if (ev.type === 'stdout') out.push(ev.data);
      if (ev.type === 'exit') out.push(`exit ${ev.exitCode}`);
    }
    expect(seenIds).toEqual(['4', '8']);
    expect(out).toEqual(['two\n', 'three\n', 'exit 0']);
    expect(starts).toBe(1);
  });

  it('gives up after maxRetries broken streams, and does not retry HTTP errors', async () => {
    let calls = 0;
    server.route(`GET ${base}/processes/p1/output`, (_req, res) => {
      calls++;
      const sse = openSse(res);
      sse.send('stdout', { data: 'x', offset: 0 }, 1);
      sse.end(); // ends without exit
    });
    server.route(`GET ${base}/processes/gone/output`, (_req, res) =>
      sendJson(res, 404, { error: 'process gone not found', code: 'PROCESS_NOT_FOUND' }),
    );
    const drain = async (id: string) => {
      for await (const _ of client.sandbox('x').processes.output(id, { maxRetries: 2 })) {
        // drain
      }
    };
    await expect(drain('p1')).rejects.toBeInstanceOf(ConnectionError);
    expect(calls).toBe(3);
    await expect(drain('gone')).rejects.toBeInstanceOf(NotFoundError);
    expect(server.requests.filter((r) => r.path.endsWith('/gone/output'))).toHaveLength(1);
  });
});

describe('ports', () => {
  it('lists, forwards and removes; builds preview and tunnel URLs', async () => {
    const view = {
      port: 8000,
      protocol: 'http',
      previewUrl: 'http://8000-x--team.localhost:8080/',
      internalUrl: 'http://127.0.0.1:8000',
    };
    server.route(`GET ${base}/ports`, (_req, res) =>
      sendJson(res, 200, { ports: [{ ...view, listening: true }] }),
    );
    server.route(`POST ${base}/ports`, (req, res) => {
      expect(req.json()).toEqual({ port: 8000, protocol: 'tcp' });
      sendJson(res, 201, view);
    });
    server.route(`DELETE ${base}/ports/8000`, (_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const sb = client.sandbox('x', { namespace: 'team' });
    expect(await sb.ports.list()).toEqual([{ ...view, listening: true }]);
    expect(await sb.ports.forward(8000, { protocol: 'tcp' })).toEqual(view);
    await sb.ports.remove(8000);
    const apiPort = new URL(server.url).port;
    expect(sb.ports.previewUrl(8000)).toBe(`http://8000-x--team.localhost:${apiPort}/`);
    expect(sb.ports.previewUrl(8000, 'a/b')).toBe(`http://8000-x--team.localhost:${apiPort}/a/b`);
    expect(client.sandbox('y').ports.previewUrl(3000)).toBe(`http://3000-y--default.localhost:${apiPort}/`);
    expect(sb.ports.tunnelUrl(5432)).toBe(`${server.url.replace('http', 'ws')}/ws/tcp/x/5432?namespace=team`);
    expect(() => sb.ports.previewUrl(0)).toThrow(TypeError);
    await expect(sb.ports.forward(70000)).rejects.toThrow(TypeError);
    // A name with "--": the escaped label, as the server writes it.
    expect(client.sandbox('a--b').ports.previewUrl(3000)).toBe(
      `http://3000--a-1-1b--default.localhost:${apiPort}/`,
    );
  });

  it('mints a preview link for a browser', async () => {
    const link = {
      url: 'http://3000-x--team.localhost:8080/__agenttier/preview-session?token=t',
      expiresAt: '2026-12-06T04:00:00.000Z',
      previewUrl: 'http://3000-x--team.localhost:8080/',
    };
    server.route(`POST ${base}/ports/3000/preview-link`, (req, res) => {
      expect(req.json()).toEqual({ path: '/app' });
      sendJson(res, 201, link);
    });
    const sb = client.sandbox('x', { namespace: 'team' });
    expect(await sb.ports.previewLink(3000, { path: '/app' })).toEqual(link);
    await expect(sb.ports.previewLink(0)).rejects.toThrow(TypeError);
  });

  it('forwards and removes a port by name (seed 003: create(name="web", port=8000), delete("web"))', async () => {
    const view = {
      port: 8000,
      protocol: 'http',
      name: 'web',
      previewUrl: null,
      internalUrl: 'http://127.0.0.1:8000',
    };
    server.route(`POST ${base}/ports`, (req, res) => {
      expect(req.json()).toEqual({ port: 8000, name: 'web' });
      sendJson(res, 201, view);
    });
    let removed = false;
    server.route(`DELETE ${base}/ports/web`, (_req, res) => {
      removed = true;
      res.writeHead(204);
      res.end();
    });
    const sb = client.sandbox('x', { namespace: 'team' });
    expect((await sb.ports.forward(8000, { name: 'web' })).name).toBe('web');
    await sb.ports.remove('web');
    expect(removed).toBe(true);
  });

  it('carries bytes through a TCP tunnel, with credentials', async () => {
    const wss = new WebSocketServer({ noServer: true });
    server.upgrade('GET /ws/tcp/x/5432', (req, { req: raw, socket, head }) => {
      expect(req.headers['x-api-key']).toBe('atk_1');
      wss.handleUpgrade(raw, socket, head, (ws) => {
        ws.on('message', (data) => {
          // 'hello' asks for a greeting, anything else is echoed.
          if (String(data) === 'hello') ws.send(Buffer.from('greeting'), { binary: true });
          else ws.send(Buffer.concat([Buffer.from('echo:'), data as Buffer]));
        });
      });
    });
    const c = new AgentTier({ apiUrl: server.url, apiKey: 'atk_1', env: {} });
    const tunnel = await c.sandbox('x').ports.connect(5432);
    // The greeting arrives before anyone listens on the channel: the socket's own listener after the
    // channel's sees it once the channel has it buffered.
    const greeted = new Promise((r) => tunnel.socket.addEventListener('message', r));
    tunnel.send(new TextEncoder().encode('hello'));
    await greeted;
    const got: string[] = [];
    tunnel.onMessage((d) => got.push(new TextDecoder().decode(d as Uint8Array)));
    tunnel.send(new TextEncoder().encode('ping'));
    await eventually(() => got.length === 2, 'the greeting and the echo');
    expect(got).toEqual(['greeting', 'echo:ping']);
    tunnel.close();
    wss.close();
  });

  it('maps a refused tunnel: status and body with ws, a diagnosis with the global WebSocket', async () => {
    server.route('GET /api/v1/sandboxes/x', (_req, res) => sendJson(res, 200, sandboxView('x')));
    server.route('GET /api/v1/sandboxes/stopped', (_req, res) =>
      sendJson(res, 200, sandboxView('stopped', 'Stopped')),
    );
    const withWs = new AgentTier({
      apiUrl: server.url,
      env: {},
      WebSocket: WsWebSocket as unknown as WebSocketConstructor,
    });
    const err = await withWs
      .sandbox('x')
      .ports.connect(1234)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).code).toBe('NOT_FOUND');
    expect((err as Error).message).toContain('no upgrade route');

    const globalErr = await client
      .sandbox('stopped')
      .ports.connect(1234)
      .catch((e: unknown) => e);
    expect((globalErr as { code?: string }).code).toBe('SANDBOX_NOT_RUNNING');
    const plain = await client
      .sandbox('x')
      .ports.connect(1234)
      .catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(ConnectionError);
    server.unhandled.length = 0; // the refused upgrades were the point
  });
});

describe('agent.configure', () => {
  it('encodes files, streams log lines and returns the result', async () => {
    server.route(`POST ${base}/configure`, (req, res) => {
      expect(req.headers.accept).toBe('text/event-stream');
      const body = req.json<{ files: unknown[] }>();
      expect(body).toEqual({
        files: [
          { path: '/workspace/agent.py', content: 'print(1)\n' },
          { path: '/workspace/bin', contentBase64: Buffer.from([0, 255, 1]).toString('base64'), mode: 0o755 },
          { path: '/workspace/raw', contentBase64: 'eA==' },
        ],
        installCommand: ['sh', '-c', 'echo hi'],
        entrypoint: ['python3', '/workspace/agent.py'],
        installTimeout: '2m',
        maxConcurrentInvokes: 2,
      });
      const sse = openSse(res);
      sse.send('log', { stream: 'stdout', data: '[configure] uploading /workspace/agent.py' });
      sse.comment();
      sse.send('log', { stream: 'stderr', data: 'warn' });
      sse.send('result', {
        lastConfiguredAt: '2026-01-01T00:00:00Z',
        installCommandHash: 'ab'.repeat(32),
        entrypoint: ['python3', '/workspace/agent.py'],
        installExitCode: 0,
        skipped: false,
      });
      sse.end();
    });
    const lines: string[] = [];
    const result = await client.sandbox('x').agent.configure({
      files: [
        { path: '/workspace/agent.py', content: 'print(1)\n' },
        { path: '/workspace/bin', content: new Uint8Array([0, 255, 1]), mode: 0o755 },
        { path: '/workspace/raw', contentBase64: 'eA==' },
      ],
      installCommand: ['sh', '-c', 'echo hi'],
      entrypoint: ['python3', '/workspace/agent.py'],
      installTimeout: '2m',
      maxConcurrentInvokes: 2,
      onLog: (l) => lines.push(`${l.stream}:${l.data}`),
    });
    expect(lines).toEqual(['stdout:[configure] uploading /workspace/agent.py', 'stderr:warn']);
    expect(result).toMatchObject({
      installExitCode: 0,
      skipped: false,
      entrypoint: ['python3', '/workspace/agent.py'],
    });
  });

  it('throws ConfigureError on an error event, and when the stream ends without a result', async () => {
    server.route(`POST ${base}/configure`, (_req, res) => {
      const sse = openSse(res);
      sse.send('log', { stream: 'stdout', data: '[configure] running install: sleep 30' });
      sse.send('error', { phase: 'install', message: 'install timed out after 1s' });
      sse.end();
    });
    server.route('POST /api/v1/sandboxes/y/configure', (_req, res) => {
      const sse = openSse(res);
      sse.send('log', { stream: 'stdout', data: 'x' });
      sse.end();
    });
    server.route('POST /api/v1/sandboxes/z/configure', (_req, res) =>
      sendJson(res, 400, {
        error: 'invalid configure request: at least one of files…',
        code: 'VALIDATION_FAILED',
      }),
    );
    const err = await client
      .sandbox('x')
      .agent.configure({ installCommand: ['sleep', '30'], installTimeout: '1s' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigureError);
    expect(err).toMatchObject({
      phase: 'install',
      serverMessage: 'install timed out after 1s',
      code: 'CONFIGURE_FAILED',
    });
    const cut = await client
      .sandbox('y')
      .agent.configure({ entrypoint: ['x'] })
      .catch((e: unknown) => e);
    expect(cut).toBeInstanceOf(ConnectionError);
    expect((cut as Error).message).toContain('configure stream ended without a result event');
    await expect(client.sandbox('z').agent.configure({})).rejects.toBeInstanceOf(ValidationError);
    await expect(client.sandbox('z').agent.configure({ files: [{ path: '/workspace/a' }] })).rejects.toThrow(
      TypeError,
    );
  });

  it('reads the install log', async () => {
    server.route(`GET ${base}/configure/install-log`, (_req, res) =>
      sendJson(res, 200, { log: 'installing\n' }),
    );
    expect(await client.sandbox('x').agent.installLog()).toBe('installing\n');
  });
});

/** A fake /invoke: start, the given lines, exit; records ids 1.. like the server. */
function invokeRoute(
  name: string,
  lines: Array<['stdout' | 'stderr', string]>,
  exit: { exitCode: number; reason: string },
) {
  routeInvokeStream(server, `/api/v1/sandboxes/${name}/invoke`, {
    lines,
    exit,
    startedAtMs: 1000,
    durationMs: 12,
  });
}

describe('agent.invoke', () => {
  it('sends the input as the raw body with prompt and timeout, and collects the output', async () => {
    invokeRoute(
      'x',
      [
        ['stdout', '1'],
        ['stderr', 'oops'],
        ['stdout', '2'],
      ],
      { exitCode: 3, reason: 'completed' },
    );
    const r = await client.sandbox('x').agent.invoke({ input: 'count 2', prompt: 'p q', timeout: '5m' });
    expect(r).toEqual({
      invokeId: 'inv-1',
      stdout: '1\n2\n',
      stderr: 'oops\n',
      exitCode: 3,
      durationMs: 12,
      reason: 'completed',
    });
    const req = server.requests[0]!;
    expect(req.body.toString()).toBe('count 2');
    expect(req.headers['content-type']).toBe('application/octet-stream');
    expect(req.query.get('prompt')).toBe('p q');
    expect(req.query.get('timeout')).toBe('5m');
    expect(req.query.get('detach')).toBeNull();
  });

  it('yields typed events with their ids and tolerates keepalives and unknown events', async () => {
    server.route(`POST ${base}/invoke`, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'X-Invoke-Id': 'inv-2' });
      res.write(
        'id: 1\r\nevent: start\r\ndata: {"invokeId":"inv-2","startedAt":5}\r\n\r\n: keepalive\n\n' +
          'id: 2\nevent: progress\ndata: {"pct":50}\n\nid: 3\nevent: log\ndata: {"stream":"stdout","data":"héllo"}\n\n' +
          'id: 4\nevent: exit\ndata: {"invokeId":"inv-2","exitCode":-1,"durationMs":3,"reason":"timeout"}\n\n',
      );
      res.end();
    });
    const events: InvokeEvent[] = [];
    for await (const ev of client.sandbox('x').agent.invokeStream()) events.push(ev);
    expect(events).toEqual([
      { type: 'start', invokeId: 'inv-2', startedAt: 5, eventId: 1 },
      { type: 'log', stream: 'stdout', data: 'héllo', eventId: 3 },
      { type: 'exit', invokeId: 'inv-2', exitCode: -1, durationMs: 3, reason: 'timeout', eventId: 4 },
    ]);
  });

  it('maps 429 with Retry-After to ConcurrencyError (a RateLimitError) and 424 to NotConfiguredError', async () => {
    server.route(`POST ${base}/invoke`, (_req, res) =>
      sendJson(
        res,
        429,
        {
          error: 'concurrency_exceeded',
          code: 'CONCURRENCY_EXCEEDED',
          message: 'sandbox x already has 2 concurrent invokes (max 2)',
          limit: 2,
          inflight: 2,
        },
        { 'Retry-After': '5' },
      ),
    );
    server.route('POST /api/v1/sandboxes/y/invoke', (_req, res) =>
      sendJson(res, 424, {
        error: 'sandbox y has no entrypoint — call POST /configure first to set one',
        code: 'NOT_CONFIGURED',
      }),
    );
    const err = await client
      .sandbox('x')
      .agent.invoke()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ retryAfterMs: 5000, limit: 2, inflight: 2, retryable: true });
    expect((err as Error).message).toBe('sandbox x already has 2 concurrent invokes (max 2). Retry in 5s');
    await expect(client.sandbox('y').agent.invoke()).rejects.toBeInstanceOf(NotConfiguredError);
  });

  it('aborting the signal closes the stream and cancels the run by id', async () => {
    let closed = false;
    server.route(`POST ${base}/invoke`, (_req, res) => {
      const sse = openSse(res, { 'X-Invoke-Id': 'inv-9' });
      sse.send('start', { invokeId: 'inv-9', startedAt: 1 }, 1);
      sse.send('log', { stream: 'stdout', data: 'working' }, 2);
      res.on('close', () => (closed = true));
    });
    server.route(`POST ${base}/invoke/cancel`, (req, res) => {
      expect(req.json()).toEqual({ invokeId: 'inv-9' });
      res.writeHead(204);
      res.end();
    });
    const ac = new AbortController();
    const seen: string[] = [];
    const run = async () => {
      for await (const ev of client.sandbox('x').agent.invokeStream({ signal: ac.signal })) {
        seen.push(ev.type);
        if (ev.type === 'log') ac.abort(new Error('user gave up'));
      }
    };
    await expect(run()).rejects.toThrow('user gave up');
    expect(seen).toEqual(['start', 'log']);
    await eventually(() => closed, 'the stream to close');
    expect(server.requests.map((r) => r.path)).toContain(`${base}/invoke/cancel`);
  });

  it('leaving the loop early cancels too; a complete run is not cancelled', async () => {
    routeRunningInvoke(server, base, { invokeId: 'inv-3', stdout: 'a' });
    for await (const ev of client.sandbox('x').agent.invokeStream()) if (ev.type === 'log') break;
    expect(server.requests.filter((r) => r.path.endsWith('/invoke/cancel'))).toHaveLength(1);
    invokeRoute('y', [], { exitCode: 0, reason: 'completed' });
    await client.sandbox('y').agent.invoke();
    expect(server.requests.filter((r) => r.path.endsWith('/invoke/cancel'))).toHaveLength(1);
  });

  it('fails with ConnectionError naming the invoke when the stream ends without exit', async () => {
    server.route(`POST ${base}/invoke`, (_req, res) => {
      const sse = openSse(res, { 'X-Invoke-Id': 'inv-4' });
      sse.send('start', { invokeId: 'inv-4', startedAt: 1 }, 1);
      sse.end();
    });
    server.route(`POST ${base}/invoke/cancel`, (_req, res) =>
      sendJson(res, 404, { error: 'invoke inv-4 not in flight', code: 'INVOKE_NOT_FOUND' }),
    );
    const err = await client
      .sandbox('x')
      .agent.invoke()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain('inv-4');
  });

  it('starts a detached run and returns its id without cancelling it', async () => {
    let closed = false;
    server.route(`POST ${base}/invoke`, (req, res) => {
      expect(req.query.get('detach')).toBe('true');
      const sse = openSse(res, { 'X-Invoke-Id': 'inv-d' });
      sse.send('start', { invokeId: 'inv-d', startedAt: 1 }, 1);
      res.on('close', () => (closed = true));
    });
    expect(await client.sandbox('x').agent.invokeDetached({ input: 'sleep 60' })).toBe('inv-d');
    await eventually(() => closed, 'the stream to close');
    expect(server.requests).toHaveLength(1);
  });
});

describe('agent records', () => {
  it('attaches with Last-Event-ID and resumes after a drop', async () => {
    const ids: Array<string | undefined> = [];
    server.route(`GET ${base}/invokes/inv-1/stream`, async (req, res) => {
      const after = Number(req.headers['last-event-id'] ?? 0);
      ids.push(req.headers['last-event-id'] as string | undefined);
      const sse = openSse(res);
      const all: Array<[string, unknown]> = [
        ['start', { invokeId: 'inv-1', startedAt: 1 }],
        ['log', { stream: 'stdout', data: 'a' }],
        ['log', { stream: 'stdout', data: 'b' }],
        ['log', { stream: 'stdout', data: 'c' }],
        ['exit', { invokeId: 'inv-1', exitCode: 0, durationMs: 1, reason: 'completed' }],
      ];
      for (let i = after; i < all.length; i++) {
        const sent = sse.send(all[i]![0], all[i]![1], i + 1);
        if (ids.length === 1 && i + 1 === 3) {
          await sent; // on its way to the client before the connection breaks
          return sse.destroy();
        }
      }
      sse.end();
    });
    const got: string[] = [];
    for await (const ev of client.sandbox('x').agent.attach('inv-1', { lastEventId: 1 })) {
      got.push(ev.type === 'log' ? ev.data : ev.type);
    }
    expect(ids).toEqual(['1', '3']);
    expect(got).toEqual(['a', 'b', 'c', 'exit']);
  });

  it('cancels, lists and gets records', async () => {
    const record = {
      invokeId: 'inv-1',
      state: 'finished',
      exitCode: 0,
      reason: 'completed',
      outputTail: 'x',
    };
    server.route(`POST ${base}/invoke/cancel`, (req, res) => {
      expect(req.json()).toEqual({ invokeId: 'inv-1' });
      res.writeHead(204);
      res.end();
    });
    server.route(`GET ${base}/invokes`, (req, res) => {
      expect(req.query.get('limit')).toBe('5');
      sendJson(res, 200, { invokes: [record] });
    });
    server.route(`GET ${base}/invokes/inv-1`, (_req, res) => sendJson(res, 200, record));
    const agent = client.sandbox('x').agent;
    await agent.cancel('inv-1');
    expect(await agent.invokes({ limit: 5 })).toEqual([record]);
    expect(await agent.getInvoke('inv-1')).toEqual(record);
  });
});
