import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openSse, routeInvokeStream, routeRunningInvoke, sendJson } from '@agenttier/sdk/testing';
import { useTestServer } from '@agenttier/sdk/testing/use-test-server';
import { eventually } from '@agenttier/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../flags.ts';
import { runCli, scratch } from '../../testing/run-cli.ts';
import type { Capture } from '../../testing/run-cli.ts';

const server = useTestServer();
let dir: string;
let cleanup: () => Promise<void>;
const cli = (argv: string[], opts: { stdin?: string } = {}) =>
  runCli(argv, { url: server.url, cwd: dir, ...opts });
const base = '/api/v1/sandboxes/bot';

beforeEach(async () => {
  ({ dir, cleanup } = await scratch());
});
afterEach(() => cleanup());

describe('splitCommandLine', () => {
  it('splits like a shell without expanding', () => {
    expect(splitCommandLine('python3 /workspace/agent.py', '--x')).toEqual([
      'python3',
      '/workspace/agent.py',
    ]);
    expect(splitCommandLine(`sh -c 'echo "a b"; exit 1'`, '--x')).toEqual(['sh', '-c', 'echo "a b"; exit 1']);
    expect(splitCommandLine(`pip install -r "my reqs.txt"  --quiet`, '--x')).toEqual([
      'pip',
      'install',
      '-r',
      'my reqs.txt',
      '--quiet',
    ]);
    expect(splitCommandLine(`echo a\\ b "x\\"y" '' $HOME`, '--x')).toEqual([
      'echo',
      'a b',
      'x"y',
      '',
      '$HOME',
    ]);
    expect(() => splitCommandLine(`echo 'oops`, '--install')).toThrow(
      /--install has an unterminated ' quote/,
    );
    expect(() => splitCommandLine('   ', '--entrypoint')).toThrow(/--entrypoint needs a command/);
  });
});

/** A configure answer: the given log lines, then a result (or an error event). */
function configureRoute(
  lines: Array<['stdout' | 'stderr', string]>,
  end: { result?: Record<string, unknown>; error?: Record<string, unknown> },
) {
  server.route(`POST ${base}/configure`, (_req, res) => {
    const sse = openSse(res);
    for (const [stream, data] of lines) sse.send('log', { stream, data });
    if (end.result) sse.send('result', end.result);
    if (end.error) sse.send('error', end.error);
    sse.end();
  });
}

const result = (extra: Record<string, unknown> = {}) => ({
  lastConfiguredAt: '2026-07-01T00:00:00Z',
  installCommandHash: 'f'.repeat(64),
  entrypoint: ['python3', '/workspace/agent.py'],
  installExitCode: 0,
  skipped: false,
  ...extra,
});

describe('agenttier configure', () => {
  it('uploads text and binary files, splits --install/--entrypoint, streams the log and summarises', async () => {
    await writeFile(join(dir, 'agent.py'), 'print("hi")\n');
    await writeFile(join(dir, 'blob.bin'), Buffer.from([0xff, 0x00, 0xfe]));
    await writeFile(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    configureRoute(
      [
        ['stdout', '[configure] uploading /workspace/agent.py'],
        ['stdout', 'installing'],
        ['stderr', 'warn: slow'],
      ],
      { result: result() },
    );
    const r = await cli([
      'configure',
      'bot',
      '--file',
      '/workspace/agent.py=./agent.py',
      '--file',
      '/workspace/blob.bin=blob.bin',
      '-f',
      '/workspace/run.sh=./run.sh',
      '--install',
      `sh -c 'echo installing; echo "warn: slow" >&2'`,
      '--entrypoint',
      'python3 /workspace/agent.py',
      '--install-timeout',
      '2m',
      '--max-concurrent-invokes',
      '3',
      '--default-invoke-timeout',
      '10m',
    ]);
    expect(r.code).toBe(0);
    expect(server.requests[0]?.json()).toEqual({
      files: [
        { path: '/workspace/agent.py', content: 'print("hi")\n' },
        { path: '/workspace/blob.bin', contentBase64: Buffer.from([0xff, 0x00, 0xfe]).toString('base64') },
        { path: '/workspace/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
      ],
      installCommand: ['sh', '-c', 'echo installing; echo "warn: slow" >&2'],
      entrypoint: ['python3', '/workspace/agent.py'],
      installTimeout: '2m',
      maxConcurrentInvokes: 3,
      defaultInvokeTimeout: '10m',
    });
    expect(r.stdout).toBe('[configure] uploading /workspace/agent.py\ninstalling\n');
    expect(r.stderr).toContain('warn: slow\n');
    expect(r.stderr).toMatch(/Install:\s+exited 0/);
    expect(r.stderr).toMatch(/Entrypoint:\s+python3 \/workspace\/agent\.py/);
  });

  it('says "skipped (already configured)" and prints the result as JSON with -o json', async () => {
    configureRoute([], { result: result({ skipped: true }) });
    const r = await cli(['configure', 'bot', '--entrypoint', 'python3 /workspace/agent.py']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('skipped (already configured)');
    configureRoute([['stdout', 'x']], { result: result({ skipped: true }) });
    const json = await cli(['configure', 'bot', '--entrypoint', 'python3 a.py', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ skipped: true });
    expect(json.stderr).toContain('x\n');
  });

  it('exits 1 on a non-zero install and on an error event', async () => {
    configureRoute([['stderr', 'boom']], { result: result({ installExitCode: 7 }) });
    const failed = await cli(['configure', 'bot', '--install', 'sh -c "exit 7"']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('Error: the install command exited with code 7');
    configureRoute([], { error: { phase: 'install', message: 'install timed out after 1s' } });
    const timedOut = await cli(['configure', 'bot', '--install', 'sleep 30', '--install-timeout', '1s']);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain('Error: install timed out after 1s');
    expect(timedOut.stderr).toContain('--install-timeout');
  });

  it('checks its flags before sending anything', async () => {
    expect((await cli(['configure', 'bot'])).stderr).toContain('nothing to configure');
    expect((await cli(['configure', 'bot', '--file', 'agent.py'])).code).toBe(2);
    expect((await cli(['configure', 'bot', '--file', '/workspace/a=./missing.py'])).code).toBe(3);
    expect((await cli(['configure', 'bot', '--install', "echo 'x"])).code).toBe(2);
    expect((await cli(['configure', 'bot', '--entrypoint', 'x', '--install-timeout', 'soon'])).code).toBe(2);
    expect(
      (await cli(['configure', 'bot', '--entrypoint', 'x', '--max-concurrent-invokes', '-1'])).code,
    ).toBe(2);
    expect(server.requests).toHaveLength(0);
  });

  it('explains a code-mode sandbox', async () => {
    server.route(`POST ${base}/configure`, (_req, res) =>
      sendJson(res, 400, {
        error: 'sandbox bot is in mode "code" — /configure is only valid for mode: agent.',
        code: 'WRONG_MODE',
      }),
    );
    const r = await cli(['configure', 'bot', '--entrypoint', 'x']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('Hint: Agent commands need an agent-mode sandbox');
  });
});

/** An /invoke answer like the router's: start, log lines, exit; ids 1.. */
function invokeRoute(
  lines: Array<['stdout' | 'stderr', string]>,
  exit: { exitCode: number; reason: string },
) {
  routeInvokeStream(server, `${base}/invoke`, { lines, exit, startedAtMs: 1, durationMs: 1500 });
}

describe('agenttier invoke', () => {
  it('streams lines to the matching streams and exits with the entrypoint’s code', async () => {
    invokeRoute(
      [
        ['stdout', '1'],
        ['stderr', 'failing on request'],
        ['stdout', '2'],
      ],
      { exitCode: 3, reason: 'completed' },
    );
    const r = await cli(['invoke', 'bot', '--input', 'fail 3', '--prompt', 'p', '--timeout', '5m']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('1\n2\n');
    expect(r.stderr).toBe('failing on request\n');
    const req = server.requests[0]!;
    expect(req.body.toString()).toBe('fail 3');
    expect(req.query.get('prompt')).toBe('p');
    expect(req.query.get('timeout')).toBe('5m');
  });

  it('reads --input from @file and from stdin', async () => {
    invokeRoute([], { exitCode: 0, reason: 'completed' });
    await writeFile(join(dir, 'req.json'), '{"q": 1}');
    expect((await cli(['invoke', 'bot', '--input', '@req.json'])).code).toBe(0);
    expect(server.requests[0]?.body.toString()).toBe('{"q": 1}');
    expect((await cli(['invoke', 'bot', '--input', '-'], { stdin: 'from stdin' })).code).toBe(0);
    expect(server.requests[1]?.body.toString()).toBe('from stdin');
  });

  it('maps timeout to 124 and canceled to 130, and prints JSON events with -o json', async () => {
    invokeRoute([['stdout', 'working... 0s']], { exitCode: -1, reason: 'timeout' });
    const t = await cli(['invoke', 'bot', '--input', 'sleep 20', '--timeout', '1s']);
    expect(t.code).toBe(124);
    expect(t.stderr).toContain('Error: invoke inv-1 hit its time limit after 1.5s');
    invokeRoute([], { exitCode: -1, reason: 'canceled' });
    const c = await cli(['invoke', 'bot']);
    expect(c.code).toBe(130);
    expect(c.stderr).toContain('Invoke inv-1 was canceled.');
    invokeRoute([['stdout', 'x']], { exitCode: 0, reason: 'completed' });
    const json = await cli(['invoke', 'bot', '-o', 'json']);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { type: string }).type),
    ).toEqual(['start', 'log', 'exit']);
  });

  it('--detach prints the invoke id; --cancel cancels one', async () => {
    server.route(`POST ${base}/invoke`, (req, res) => {
      expect(req.query.get('detach')).toBe('true');
      const sse = openSse(res, { 'X-Invoke-Id': 'inv-d' });
      sse.send('start', { invokeId: 'inv-d', startedAt: 1 }, 1);
    });
    const d = await cli(['invoke', 'bot', '--input', 'sleep 60', '--detach']);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe('inv-d\n');
    expect(d.stderr).toContain('agenttier attach bot inv-d');
    server.route(`POST ${base}/invoke/cancel`, (req, res) => {
      if (req.json<{ invokeId: string }>().invokeId !== 'inv-d') {
        return sendJson(res, 404, { error: 'invoke inv-x not in flight', code: 'INVOKE_NOT_FOUND' });
      }
      res.writeHead(204);
      res.end();
    });
    const c = await cli(['invoke', 'bot', '--cancel', 'inv-d']);
    expect(c.code).toBe(0);
    expect(c.stderr).toContain('Canceled invoke inv-d.');
    const missing = await cli(['invoke', 'bot', '--cancel', 'inv-x']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('Hint: Run `agenttier invokes bot` to see invoke ids');
  });

  it('explains 429 (concurrency) and 424 (not configured)', async () => {
    server.route(`POST ${base}/invoke`, (_req, res) =>
      sendJson(
        res,
        429,
        {
          error: 'concurrency_exceeded',
          code: 'CONCURRENCY_EXCEEDED',
          message: 'sandbox bot already has 1 concurrent invokes (max 1)',
          limit: 1,
          inflight: 1,
        },
        { 'Retry-After': '5' },
      ),
    );
    const busy = await cli(['invoke', 'bot']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('Error: sandbox bot already has 1 concurrent invokes (max 1)');
    expect(busy.stderr).toContain('retry in 5s');
    server.route(`POST ${base}/invoke`, (_req, res) =>
      sendJson(res, 424, {
        error: 'sandbox bot has no entrypoint — call POST /configure first to set one',
        code: 'NOT_CONFIGURED',
      }),
    );
    const unconfigured = await cli(['invoke', 'bot']);
    expect(unconfigured.code).toBe(1);
    expect(unconfigured.stderr).toContain('Hint: Configure it first: `agenttier configure bot');
  });

  it('Ctrl-C cancels the run and exits 130', async () => {
    routeRunningInvoke(server, base, { invokeId: 'inv-c', stdout: 'working' });
    const ac = new AbortController();
    let out: Capture | undefined;
    const pending = runCli(['invoke', 'bot'], {
      url: server.url,
      signal: ac.signal,
      onStdout: (c) => (out = c),
    });
    // Ctrl-C once the run's first line is on screen: the cancel must come after the invoke started.
    await eventually(() => out?.text.includes('working\n'), 'the run’s first output line');
    ac.abort();
    const r = await pending;
    expect(r.code).toBe(130);
    expect(r.stdout).toBe('working\n');
    expect(server.requests.map((q) => q.path)).toContain(`${base}/invoke/cancel`);
  });
});

describe('agenttier attach / invokes', () => {
  it('replays and follows, exiting with the run’s code', async () => {
    server.route(`GET ${base}/invokes/inv-1/stream`, (req, res) => {
      expect(req.headers['last-event-id']).toBe('1');
      const sse = openSse(res);
      sse.send('log', { stream: 'stdout', data: 'again' }, 2);
      sse.send('exit', { invokeId: 'inv-1', exitCode: 4, durationMs: 1, reason: 'completed' }, 3);
      sse.end();
    });
    const r = await cli(['attach', 'bot', 'inv-1', '--after', '1']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('again\n');
  });

  it('lists records as a table and shows one in detail', async () => {
    const now = Date.now();
    const rec = (id: string, extra: Record<string, unknown>) => ({
      invokeId: id,
      namespace: 'default',
      sandbox: 'bot',
      template: 'langgraph-agent',
      state: 'finished',
      detached: false,
      startedAt: new Date(now - 60_000).toISOString(),
      bytesStdout: 2048,
      bytesStderr: 0,
      eventCount: 3,
      outputTail: '1\n2\n3\n',
      ...extra,
    });
    server.route(`GET ${base}/invokes`, (_req, res) => {
      sendJson(res, 200, {
        invokes: [
          rec('inv-2', { state: 'running', detached: true }),
          rec('inv-1', { exitCode: 3, reason: 'completed', durationMs: 1234 }),
        ],
      });
    });
    server.route(`GET ${base}/invokes/inv-1`, (_req, res) =>
      sendJson(res, 200, rec('inv-1', { exitCode: 3, reason: 'completed', durationMs: 1234 })),
    );
    const r = await cli(['invokes', 'bot', '--limit', '10']);
    expect(r.code).toBe(0);
    expect(server.requests[0]?.query.get('limit')).toBe('10');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^INVOKE ID\s+STATUS\s+EXIT\s+AGE\s+DURATION\s+OUT\/ERR\s+DETACHED$/);
    expect(lines[1]).toMatch(/^inv-2\s+running\s+-\s+60s\s+-\s+2\.0Ki\/0\s+yes$/);
    expect(lines[2]).toMatch(/^inv-1\s+completed\s+3\s+60s\s+1\.2s\s+2\.0Ki\/0\s+no$/);
    const one = await cli(['invokes', 'bot', 'inv-1']);
    expect(one.stdout).toMatch(/Exit code:\s+3/);
    expect(one.stdout).toContain('Output (tail):\n1\n2\n3\n');
    const json = await cli(['invokes', 'bot', '-o', 'json']);
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(2);
  });
});
