/**
 * The Terminal tab's session logic against a real WebSocket server that behaves like the router +
 * sandboxd (one shell per session name, its screen replayed to every new connection).
 */
import { describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import { eventually } from '@agenttier/testkit';
import { useSdkTestServer } from '../testing/sdk-test-server.ts';
import { TerminalSession, type TerminalStatus } from './terminal-session.ts';

/** Shells by session name: input is echoed back wrapped in brackets, the screen is replayed on attach. */
class FakeShells {
  screens = new Map<string, string>();
  sessionsAsked: string[] = [];
  sockets = new Map<string, Set<WebSocket>>();
  refuse: { status: number; body: unknown } | undefined;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(name: string) {
    sdk.server.upgrade(`GET /ws/terminal/${name}`, (req, { req: raw, socket, head }) => {
      if (this.refuse) {
        const body = JSON.stringify(this.refuse.body);
        socket.end(
          `HTTP/1.1 ${this.refuse.status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        return;
      }
      const session = req.query.get('session') ?? '';
      this.sessionsAsked.push(session);
      this.wss.handleUpgrade(raw, socket, head, (ws) => {
        const set = this.sockets.get(session) ?? new Set();
        this.sockets.set(session, set.add(ws));
        ws.on('close', () => set.delete(ws));
        const screen = this.screens.get(session) ?? '';
        if (screen) ws.send(JSON.stringify({ type: 'output', data: screen }));
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data)) as { type: string; data?: string };
          if (frame.type === 'input') this.print(session, `[${frame.data}]`);
        });
      });
    });
  }

  print(session: string, text: string): void {
    this.screens.set(session, (this.screens.get(session) ?? '') + text);
    for (const ws of this.sockets.get(session) ?? []) ws.send(JSON.stringify({ type: 'output', data: text }));
  }

  /** The connection dies without a close frame, as when a proxy or the network drops it. */
  drop(session: string): void {
    for (const ws of this.sockets.get(session) ?? []) ws.terminate();
  }

  exit(session: string, exitCode: number): void {
    for (const ws of this.sockets.get(session) ?? []) {
      ws.send(JSON.stringify({ type: 'close', reason: 'session_ended', exitCode }));
      ws.close();
    }
    this.screens.delete(session);
  }
}

function watch(session: TerminalSession): { output: () => string; statuses: TerminalStatus[] } {
  let text = '';
  const statuses: TerminalStatus[] = [];
  session.onOutput((t) => (text += t));
  session.onStatus((s) => statuses.push(s));
  return { output: () => text, statuses };
}

const sdk = useSdkTestServer();

const FAST = { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 50 };

/** A session on sandbox `demo` (80×24, session `main` unless given). */
function demoSession(opts: { session?: string; cols?: number; rows?: number; reconnect?: typeof FAST } = {}) {
  const sandbox = sdk.client.sandbox('demo');
  return new TerminalSession({
    session: 'main',
    cols: 80,
    rows: 24,
    ...opts,
    open: (o) => sandbox.terminal(o),
  });
}

describe('TerminalSession', () => {
  it('re-attaches to the same shell after a dropped connection without repeating the screen', async () => {
    const shells = new FakeShells('demo');
    const session = demoSession({ cols: 100, rows: 30, reconnect: FAST });
    const seen = watch(session);
    await session.connect();
    expect(session.status).toEqual({ kind: 'connected', reconnects: 0 });

    session.write('echo one');
    await eventually(() => seen.output() === '[echo one]', 'the first echo');

    shells.drop('main');
    await eventually(() => seen.statuses.some((s) => s.kind === 'reconnecting'), 'a reconnecting status');
    await eventually(
      () => session.status.kind === 'connected' && session.status.reconnects === 1,
      'reconnected',
    );

    session.write('echo two');
    await eventually(() => seen.output().endsWith('[echo two]'), 'the echo after reconnecting');
    // The server replayed "[echo one]" on re-attach; the view must not show it twice.
    expect(seen.output()).toBe('[echo one][echo two]');
    expect(shells.sessionsAsked).toEqual(['main', 'main']);
    session.dispose();
  });

  it('keeps named sessions apart', async () => {
    const shells = new FakeShells('demo');
    const a = demoSession();
    const b = demoSession({ session: 'build' });
    const seenA = watch(a);
    const seenB = watch(b);
    await a.connect();
    await b.connect();
    a.write('a');
    b.write('b');
    await eventually(
      () => seenA.output() === '[a]' && seenB.output() === '[b]',
      'each echo in its own session',
    );
    expect([...shells.screens.keys()].sort()).toEqual(['build', 'main']);
    a.dispose();
    b.dispose();
  });

  it('says when the shell exited and clears the screen before a manual re-attach', async () => {
    const shells = new FakeShells('demo');
    const session = demoSession();
    const seen = watch(session);
    let resets = 0;
    session.onReset(() => resets++);
    await session.connect();
    session.write('x');
    await eventually(() => seen.output() === '[x]', 'the echo');
    shells.exit('main', 3);
    await eventually(() => session.status.kind === 'ended', 'the ended status');
    const status = session.status as Extract<TerminalStatus, { kind: 'ended' }>;
    expect(status.text).toBe('The shell exited. Exit code 3.');
    expect(status.canReconnect).toBe(true);

    shells.print('main', '$ ');
    await session.connect();
    expect(resets).toBe(1);
    await eventually(() => seen.output() === '[x]$ ', 'the new shell prompt');
    session.dispose();
  });

  it('explains a refused attach with what to do next', async () => {
    const shells = new FakeShells('demo');
    shells.refuse = {
      status: 409,
      body: { error: 'not running', code: 'SANDBOX_NOT_RUNNING', message: 'not running', requestId: 'r1' },
    };
    // Node's WebSocket hides a refused upgrade's status; the SDK then looks the sandbox up.
    sdk.server.route('GET /api/v1/sandboxes/demo', (_req, res) =>
      sendJson(res, 200, sandboxView('demo', 'Stopped')),
    );
    const session = demoSession();
    await session.connect();
    expect(session.status).toMatchObject({
      kind: 'failed',
      next: 'Resume the sandbox (Resume button at the top of the page), then try again.',
    });
    expect((session.status as { text: string }).text).toContain('not running');
    session.dispose();
  });
});
