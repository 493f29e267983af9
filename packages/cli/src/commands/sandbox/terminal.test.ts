import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import { useTestServer } from '@agenttier/sdk/testing/use-test-server';
import { describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { describeKeys, parseDetachKeys } from '../../flags.ts';
import { TtyCapture, runCli, startCli } from '../../testing/run-cli.ts';
import { DetachMatcher } from './terminal.ts';

const server = useTestServer();

const waitUntil = async (cond: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * A shell behind /ws/terminal/demo, as the router and sandboxd present it: input is echoed, "exit\r"
 * (or Ctrl-D) ends the session with a close frame, and a new connection gets the screen replayed.
 */
class FakeShell {
  screen = '';
  inputs: string[] = [];
  resizes: Array<[number, number]> = [];
  queries: URLSearchParams[] = [];
  sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor() {
    server.upgrade('GET /ws/terminal/demo', (req, { req: raw, socket, head }) => {
      this.queries.push(req.query);
      this.wss.handleUpgrade(raw, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
        if (this.screen) ws.send(JSON.stringify({ type: 'output', stream: 'stdout', data: this.screen }));
        ws.on('message', (raw) => {
          const f = JSON.parse(String(raw)) as { type: string; data?: string; cols?: number; rows?: number };
          if (f.type === 'resize') this.resizes.push([f.cols ?? 0, f.rows ?? 0]);
          if (f.type !== 'input') return;
          const data = f.data ?? '';
          this.inputs.push(data);
          this.print(data.replace(/\r/g, '\r\n'));
          if (data.includes('exit\r')) this.end(0);
          if (data.includes('\u0004')) this.end(7);
        });
      });
    });
  }

  print(text: string): void {
    this.screen += text;
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'output', stream: 'stdout', data: text }));
  }

  end(exitCode: number): void {
    for (const ws of this.sockets) {
      ws.send(JSON.stringify({ type: 'close', reason: 'session_ended', exitCode, signal: null }));
      ws.close(1000, 'session ended');
    }
  }

  drop(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  close(): void {
    this.wss.close();
  }
}

describe('DetachMatcher and detach keys', () => {
  it('parses Docker-style key lists', () => {
    expect(parseDetachKeys('ctrl-],d')).toEqual([29, 100]);
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual([16, 17]);
    expect(parseDetachKeys('none')).toEqual([]);
    expect(parseDetachKeys('')).toEqual([]);
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/not a control key/);
    expect(() => parseDetachKeys('alt-x')).toThrow(/--detach-keys expects/);
    expect(describeKeys([29, 100])).toBe('Ctrl-] d');
  });

  it('holds a started sequence back and releases it when it breaks off', () => {
    const m = new DetachMatcher([29, 100]);
    expect(m.feed(Buffer.from('ab'))).toEqual({ send: Buffer.from('ab'), detach: false });
    expect(m.feed(Buffer.from([29]))).toEqual({ send: Buffer.alloc(0), detach: false });
    expect(m.feed(Buffer.from('x'))).toEqual({ send: Buffer.from([29, 120]), detach: false });
    expect(m.feed(Buffer.from([29, 29]))).toEqual({ send: Buffer.from([29]), detach: false });
    expect(m.feed(Buffer.from('dzz'))).toEqual({ send: Buffer.alloc(0), detach: true });
    expect(new DetachMatcher([]).feed(Buffer.from([29, 100]))).toEqual({
      send: Buffer.from([29, 100]),
      detach: false,
    });
  });
});

describe('sandbox terminal', () => {
  it('pipes stdin, prints output and exits with the shell’s exit code', async () => {
    const shell = new FakeShell();
    const t = startCli(['sandbox', 'terminal', 'demo', '--session', 'scripted'], { url: server.url });
    await t.waitFor(/Connected to demo \(session scripted\)\./);
    expect(t.stderr.text).not.toContain('Detach with'); // not a terminal: no detach keys
    t.stdin.write('echo hi\r');
    await waitUntil(() => t.stdout.text.includes('echo hi\r\n'));
    t.stdin.write('exit\r');
    expect(await t.done).toBe(0);
    expect(shell.inputs).toEqual(['echo hi\r', 'exit\r']);
    expect(Object.fromEntries(shell.queries[0]!)).toEqual({ session: 'scripted', cols: '120', rows: '40' });
    shell.close();
  });

  it('sends Ctrl-D at the end of piped input', async () => {
    const shell = new FakeShell();
    const r = await runCli(['sandbox', 'terminal', 'demo'], { url: server.url, stdin: 'ls\r' });
    expect(r.code).toBe(7);
    expect(shell.inputs.join('')).toBe('ls\r\u0004');
    expect(shell.queries[0]?.get('session')).toBe('main');
    shell.close();
  });

  it('on a TTY: raw mode, size and resizes, detach keys with a hint, and raw mode restored', async () => {
    const shell = new FakeShell();
    shell.screen = 'welcome back\r\n$ ';
    const stdout = new TtyCapture();
    const t = startCli(['sandbox', 'terminal', 'demo'], { url: server.url, tty: true, stdout });
    await t.waitFor(/Detach with Ctrl-\] d; the shell keeps running\./);
    await waitUntil(() => stdout.text === 'welcome back\r\n$ ');
    expect(t.stdin.rawModes).toEqual([true]);
    expect(Object.fromEntries(shell.queries[0]!)).toEqual({ session: 'main', cols: '100', rows: '30' });
    stdout.resizeTo(132, 43);
    await waitUntil(() => shell.resizes.length === 1);
    expect(shell.resizes).toEqual([[132, 43]]);
    t.stdin.write(Buffer.from([0x6c, 0x1d])); // "l", then Ctrl-]
    t.stdin.write('d');
    expect(await t.done).toBe(0);
    await waitUntil(() => shell.inputs.length > 0);
    expect(shell.inputs).toEqual(['l']);
    expect(t.stdin.rawModes).toEqual([true, false]);
    expect(t.stderr.text).toContain('Detached from session main of demo; the shell keeps running.');
    expect(t.stderr.text).toContain('Re-attach with: agenttier sandbox terminal demo --session main');
    shell.close();
  });

  it('reconnects to the same session when the connection drops, and says so', async () => {
    const shell = new FakeShell();
    const stdout = new TtyCapture(false);
    const t = startCli(['sandbox', 'terminal', 'demo', '--session', 'dev'], { url: server.url, stdout });
    await t.waitFor(/Connected/);
    t.stdin.write('one\r');
    await waitUntil(() => stdout.text === 'one\r\n');
    shell.drop();
    await t.waitFor(/\[agenttier\] reconnected to session dev/);
    expect(t.stderr.text).toContain('[agenttier] connection lost; reconnecting to session dev…');
    t.stdin.write('two\r');
    await waitUntil(() => stdout.text.includes('two'));
    expect(stdout.text).toBe('one\r\ntwo\r\n'); // the replayed "one" is not printed twice
    expect(shell.queries.map((q) => q.get('session'))).toEqual(['dev', 'dev']);
    t.stdin.write('exit\r');
    expect(await t.done).toBe(0);
    shell.close();
  });

  it('exits 6 when the connection cannot be re-established, and 3 for an unknown sandbox', async () => {
    const shell = new FakeShell();
    const t = startCli(['sandbox', 'terminal', 'demo', '--no-reconnect'], { url: server.url });
    await t.waitFor(/Connected/);
    shell.drop();
    expect(await t.done).toBe(6);
    expect(t.stderr.text).toContain('Error: lost the connection to the terminal of demo');
    shell.close();

    // The router refuses the upgrade with a JSON error body; the CLI shows it as for any request.
    server.upgrade('GET /ws/terminal/ghost', (_req, { socket }) => {
      const body = JSON.stringify({ error: 'sandbox "ghost" not found', code: 'SANDBOX_NOT_FOUND' });
      socket.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    });
    const ghost = await runCli(['sandbox', 'terminal', 'ghost'], { url: server.url });
    expect(ghost.code).toBe(3);
    expect(ghost.stderr).toContain('Error: sandbox "ghost" not found');
    expect(ghost.stderr).toContain('Hint: Run `agenttier sandbox list` to see names');
  });

  it('rejects a bad session name before connecting', async () => {
    server.route('GET /api/v1/sandboxes/demo', (_req, res) => sendJson(res, 200, sandboxView('demo')));
    const r = await runCli(['sandbox', 'terminal', 'demo', '--session', 'a b'], { url: server.url });
    expect(r.code).toBe(2);
    expect(server.requests).toHaveLength(0);
  });
});
