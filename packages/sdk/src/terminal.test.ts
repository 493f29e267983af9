import { eventually } from '@agenttier/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as WsWebSocket, WebSocketServer, type WebSocket } from 'ws';
import { AgentTier } from './client.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import { replayOverlap, type TerminalEnd } from './terminal.ts';
import { sandboxView, sendJson } from './testing/test-server.ts';
import { useTestServer } from './testing/use-test-server.ts';
import type { WebSocketConstructor } from './websocket.ts';

const server = useTestServer();
let client: AgentTier;

beforeEach(() => {
  client = new AgentTier({ apiUrl: server.url, env: {} });
});

/**
 * A terminal endpoint that behaves like the router + sandboxd: one session whose screen output is
 * kept and replayed to every new connection, input echoed as output.
 */
class FakeTerminal {
  screen = '';
  frames: Array<Record<string, unknown>> = [];
  queries: URLSearchParams[] = [];
  headers: Array<Record<string, unknown>> = [];
  sockets = new Set<WebSocket>();
  connections = 0;
  refuse: { status: number; body: unknown } | undefined;
  silent = false;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(name = 'x') {
    server.upgrade(`GET /ws/terminal/${name}`, (req, { req: raw, socket, head }) => {
      if (this.refuse) {
        const body = JSON.stringify(this.refuse.body);
        socket.end(
          `HTTP/1.1 ${this.refuse.status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        return;
      }
      this.queries.push(req.query);
      this.headers.push(req.headers);
      this.wss.handleUpgrade(raw, socket, head, (ws) => {
        this.connections++;
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
        if (this.screen && !this.silent)
          ws.send(JSON.stringify({ type: 'output', stream: 'stdout', data: this.screen }));
        ws.on('message', (raw) => {
          const frame = JSON.parse(raw.toString()) as Record<string, unknown>;
          this.frames.push(frame);
          if (this.silent) return;
          if (frame.type === 'input') this.print(`[${String(frame.data)}]`);
          if (frame.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
        });
      });
    });
  }

  print(text: string): void {
    this.screen += text;
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'output', stream: 'stdout', data: text }));
  }

  /** The connection dies without a close frame (router restart, network). */
  drop(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  end(exitCode: number): void {
    for (const ws of this.sockets) {
      ws.send(
        JSON.stringify({
          type: 'close',
          reason: 'session_ended',
          message: 'shell exited',
          exitCode,
          signal: null,
        }),
      );
      ws.close(1000, 'session ended');
    }
  }

  close(): void {
    this.wss.close();
  }
}

describe('replayOverlap', () => {
  it('finds how much of a replay was already seen', () => {
    expect(replayOverlap('abc$ ', 'abc$ ')).toBe(5);
    expect(replayOverlap('xxabc$ ', 'abc$ ls\n$ ')).toBe(5);
    expect(replayOverlap('hello', 'world')).toBe(0);
    expect(replayOverlap('', 'abc')).toBe(0);
    expect(replayOverlap('abc', '')).toBe(0);
    expect(replayOverlap('$ $ ', '$ $ $ ')).toBe(4);
    expect(replayOverlap('aaaa', 'aab')).toBe(2);
    const long = 'x'.repeat(300_000);
    expect(replayOverlap(long, `${'x'.repeat(1000)}new`)).toBe(1000);
  });
});

describe('sandbox.terminal', () => {
  it('attaches with session, size, namespace and credentials; streams output, input, resize; detaches', async () => {
    const fake = new FakeTerminal();
    fake.screen = 'earlier output\r\n$ ';
    const c = new AgentTier({ apiUrl: server.url, apiKey: 'atk_t', env: {} });
    const term = await c
      .sandbox('x', { namespace: 'team' })
      .terminal({ session: 'dev', cols: 100, rows: 30 });
    expect(term.session).toBe('dev');
    let out = '';
    term.on('output', (d) => (out += d));
    await eventually(() => out === 'earlier output\r\n$ ', 'the replayed screen');
    term.write('ls\r');
    await eventually(() => out.endsWith('[ls\r]'), 'the echoed input');
    term.resize(90, 20);
    await eventually(() => fake.frames.some((f) => f.type === 'resize'), 'a resize frame');
    expect(fake.frames).toEqual([
      { type: 'input', data: 'ls\r' },
      { type: 'resize', cols: 90, rows: 20 },
    ]);
    const q = fake.queries[0]!;
    expect(Object.fromEntries(q)).toEqual({ namespace: 'team', session: 'dev', cols: '100', rows: '30' });
    expect(fake.headers[0]?.['x-api-key']).toBe('atk_t');
    term.close();
    expect(await term.ended).toEqual({ reason: 'detached' });
    await eventually(() => fake.sockets.size === 0, 'the socket to close');
    fake.close();
  });

  it('ends with the shell exit code from the close frame', async () => {
    const fake = new FakeTerminal();
    const term = await client.sandbox('x').terminal();
    expect(fake.queries[0]?.get('session')).toBe('main');
    const ends: TerminalEnd[] = [];
    term.on('end', (e) => ends.push(e));
    fake.end(3);
    const end = await term.ended;
    expect(end).toEqual({ reason: 'session_ended', message: 'shell exited', exitCode: 3, signal: null });
    expect(ends).toEqual([end]);
    expect(fake.connections).toBe(1);
    fake.close();
  });

  it.each([
    ['the global WebSocket', undefined],
    ['ws', WsWebSocket as unknown as WebSocketConstructor],
  ])(
    'reconnects to the same session after a drop (%s), without repeating replayed output',
    async (_n, Impl) => {
      const fake = new FakeTerminal();
      fake.screen = 'motd\r\n$ ';
      const c = new AgentTier({ apiUrl: server.url, env: {}, ...(Impl ? { WebSocket: Impl } : {}) });
      const term = await c.sandbox('x').terminal({
        session: 's1',
        reconnect: { initialDelayMs: 20, maxAttempts: 5 },
      });
      const events: string[] = [];
      let out = '';
      term.on('output', (d) => (out += d));
      let connectedWhileReconnecting: boolean | undefined;
      term.on('reconnecting', (r) => {
        events.push(`reconnecting ${r.attempt}/${r.maxAttempts}`);
        // The user keeps typing while nobody is attached (here, not after a wait: the reconnect
        // may already be done by then).
        connectedWhileReconnecting = term.connected;
        term.write('pwd\r');
      });
      term.on('reconnected', (r) => events.push(`reconnected ${r.attempt}`));
      await eventually(() => out === 'motd\r\n$ ', 'the first screen');
      term.resize(80, 24);
      await eventually(() => fake.frames.length === 1, 'one frame at the server');

      fake.drop();
      // While nobody is attached the shell keeps printing.
      fake.print('background job done\r\n$ ');

      await eventually(() => events.includes('reconnected 1'), 'the reconnect event');
      expect(connectedWhileReconnecting).toBe(false);
      await eventually(() => out.endsWith('[pwd\r]'), 'the input sent after the reconnect');
      expect(out).toBe('motd\r\n$ background job done\r\n$ [pwd\r]');
      expect(events).toEqual(['reconnecting 1/5', 'reconnected 1']);
      expect(fake.connections).toBe(2);
      expect(Object.fromEntries(fake.queries[1]!)).toEqual({ session: 's1', cols: '80', rows: '24' });
      term.close();
      fake.close();
    },
  );

  it('gives up at once when the sandbox is gone, and after maxAttempts when the server is down', async () => {
    let gone = false;
    server.route('GET /api/v1/sandboxes/x', (_req, res) =>
      gone
        ? sendJson(res, 404, { error: 'sandbox "x" not found', code: 'SANDBOX_NOT_FOUND' })
        : sendJson(res, 200, sandboxView('x')),
    );
    const fake = new FakeTerminal();
    const term = await client.sandbox('x').terminal({ reconnect: { initialDelayMs: 10, maxAttempts: 5 } });
    let attempts = 0;
    term.on('reconnecting', () => attempts++);
    gone = true;
    fake.refuse = { status: 404, body: { error: 'sandbox "x" not found', code: 'SANDBOX_NOT_FOUND' } };
    fake.drop();
    const end = await term.ended;
    expect(end.reason).toBe('connection_lost');
    expect(end.error).toBeInstanceOf(NotFoundError);
    expect(attempts).toBe(1);
    fake.close();

    const fake2 = new FakeTerminal('y');
    const term2 = await client.sandbox('y').terminal({ reconnect: { initialDelayMs: 5, maxAttempts: 2 } });
    let attempts2 = 0;
    term2.on('reconnecting', () => attempts2++);
    const url = server.url;
    await server.close();
    const end2 = await term2.ended;
    expect(end2.reason).toBe('connection_lost');
    expect(end2.message).toContain(url);
    expect(attempts2).toBe(2);
    fake2.close();
  });

  it('refuses the first connection with typed errors', async () => {
    server.route('GET /api/v1/sandboxes/stopped', (_req, res) =>
      sendJson(res, 200, sandboxView('stopped', 'Stopped')),
    );
    const fake = new FakeTerminal('stopped');
    fake.refuse = { status: 409, body: { error: 'sandbox is not running', code: 'SANDBOX_NOT_RUNNING' } };
    const err = await client
      .sandbox('stopped')
      .terminal()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain('phase Stopped');

    const withWs = new AgentTier({
      apiUrl: server.url,
      env: {},
      WebSocket: WsWebSocket as unknown as WebSocketConstructor,
    });
    const err2 = await withWs
      .sandbox('nope')
      .terminal()
      .catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(NotFoundError);
    server.unhandled.length = 0; // the refused upgrade to "nope" was the point
    fake.close();
  });

  it('treats a silent connection as dropped, pings, and detaches when the signal aborts', async () => {
    const fake = new FakeTerminal();
    fake.silent = true;
    const ac = new AbortController();
    const term = await client.sandbox('x').terminal({
      idleTimeoutMs: 150,
      pingIntervalMs: 40,
      reconnect: { initialDelayMs: 10 },
      signal: ac.signal,
    });
    let reconnects = 0;
    term.on('reconnected', () => reconnects++);
    await eventually(() => reconnects >= 1, 'a reconnect');
    expect(fake.frames.some((f) => f.type === 'ping')).toBe(true);
    ac.abort();
    expect((await term.ended).reason).toBe('detached');
    fake.close();
  });
});
