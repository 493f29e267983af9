import { openSse, processView, sendJson } from '@agenttier/sdk/testing';
import { useTestServer } from '@agenttier/sdk/testing/use-test-server';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testing/run-cli.ts';

const server = useTestServer();
const cli = (...argv: string[]) => runCli(argv, { url: server.url });
const base = '/api/v1/sandboxes/demo';

const proc = (id: string, extra: Record<string, unknown> = {}) =>
  processView(id, {
    command: ['python3', '-m', 'http.server', '8000'],
    startedAt: new Date(Date.now() - 30_000).toISOString(),
    ...extra,
  });

/** Output of a process: chunks at their offsets, then exit (unless `running`). */
function outputRoute(id: string, chunks: Array<['stdout' | 'stderr', string]>, running = false) {
  server.route(`GET ${base}/processes/${id}/output`, (req, res) => {
    const from = Number(req.headers['last-event-id'] ?? 0);
    const sse = openSse(res);
    sse.send('start', { processId: id, pid: 42, fromOffset: from, droppedBytes: 0 });
    let offset = 0;
    for (const [stream, data] of chunks) {
      const next = offset + Buffer.byteLength(data);
      if (offset >= from) sse.send(stream, { data, offset }, next);
      offset = next;
    }
    if (running) return; // keeps the stream open like a live process
    sse.send('exit', { exitCode: 3, signal: null, timedOut: false, durationMs: 10 });
    sse.end();
  });
}

describe('sandbox exec --detach', () => {
  it('starts a background process and prints its id', async () => {
    server.route(`POST ${base}/processes`, (req, res) => {
      expect(req.json()).toEqual({ command: ['python3', '-m', 'http.server'], name: 'web', timeout: 86400 });
      sendJson(res, 201, proc('p-1', { name: 'web' }));
    });
    const detached = ['sandbox', 'exec', 'demo', '-d', '--name', 'web', '--timeout', '86400'];
    const command = ['--', 'python3', '-m', 'http.server'];
    const r = await cli(...detached, ...command);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('p-1\n');
    expect(r.stderr).toContain('agenttier sandbox logs demo p-1 -f');
    const json = await cli(...detached, '-o', 'json', ...command);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'p-1', pid: 42 });
    const both = await cli('sandbox', 'exec', 'demo', '-d', '--stream', '--', 'x');
    expect(both.code).toBe(2);
  });
});

describe('sandbox ps', () => {
  it('prints a table of processes', async () => {
    server.route(`GET ${base}/processes`, (_req, res) =>
      sendJson(res, 200, {
        processes: [
          proc('p-1', { name: 'web' }),
          proc('p-2', {
            state: 'exited',
            exitCode: 137,
            signal: 'SIGKILL',
            pid: 43,
            command: ['sleep', '9'],
          }),
        ],
      }),
    );
    const r = await cli('sandbox', 'ps', 'demo');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PID\s+STATE\s+EXIT\s+AGE\s+COMMAND$/);
    expect(lines[1]).toMatch(/^p-1\s+web\s+42\s+running\s+-\s+30s\s+python3 -m http.server 8000$/);
    expect(lines[2]).toMatch(/^p-2\s+-\s+43\s+exited\s+137 \(SIGKILL\)\s+30s\s+sleep 9$/);
  });

  it('says how to start one when there are none', async () => {
    server.route(`GET ${base}/processes`, (_req, res) => sendJson(res, 200, { processes: [] }));
    const r = await cli('sandbox', 'ps', 'demo');
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('agenttier sandbox exec demo -d -- COMMAND');
  });
});

describe('sandbox logs', () => {
  it('prints what was produced so far and returns, even while the process runs', async () => {
    server.route(`GET ${base}/processes/p-1`, (_req, res) =>
      sendJson(res, 200, proc('p-1', { outputBytes: 11 })),
    );
    outputRoute(
      'p-1',
      [
        ['stdout', 'héllo\n'],
        ['stderr', 'warn\n'],
      ],
      true,
    );
    const r = await cli('sandbox', 'logs', 'demo', 'p-1');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('héllo\n');
    expect(r.stderr).toBe('warn\n');
  });

  it('follows until exit with -f, from an offset, and prints JSON lines with -o json', async () => {
    outputRoute('p-1', [
      ['stdout', 'a\n'],
      ['stdout', 'b\n'],
    ]);
    const r = await cli('sandbox', 'logs', 'demo', 'p-1', '-f', '--from-offset', '2');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('b\n');
    expect(r.stderr).toContain('Process p-1 exited with code 3.');
    expect(server.requests[0]?.headers['last-event-id']).toBe('2');
    const json = await cli('sandbox', 'logs', 'demo', 'p-1', '-f', '-o', 'json');
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events.map((e) => e.type)).toEqual(['start', 'stdout', 'stdout', 'exit']);
  });

  it('maps an unknown process to exit 3 with a hint', async () => {
    server.route(`GET ${base}/processes/nope`, (_req, res) =>
      sendJson(res, 404, { error: 'process nope not found', code: 'PROCESS_NOT_FOUND' }),
    );
    const r = await cli('sandbox', 'logs', 'demo', 'nope');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Hint: Run `agenttier sandbox ps demo` to see process ids');
  });
});

describe('sandbox kill', () => {
  it('kills by default and sends a signal with --signal', async () => {
    server.route(`DELETE ${base}/processes/p-1`, (_req, res) =>
      sendJson(res, 200, proc('p-1', { state: 'exited', exitCode: 137, signal: 'SIGKILL' })),
    );
    server.route(`POST ${base}/processes/p-1/signal`, (req, res) => {
      expect(req.json()).toEqual({ signal: 'TERM' });
      sendJson(res, 200, proc('p-1'));
    });
    const killed = await cli('sandbox', 'kill', 'demo', 'p-1');
    expect(killed.code).toBe(0);
    expect(killed.stderr).toContain('Killed process p-1.');
    const signalled = await cli('sandbox', 'kill', 'demo', 'p-1', '--signal', 'term');
    expect(signalled.stderr).toContain('Sent SIGTERM to process p-1 (pid 42).');
    const json = await cli('sandbox', 'kill', 'demo', 'p-1', '-o', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 137 });
  });
});
