import { sandboxView, sendJson } from '@agenttier/sdk/testing';
import { useTestServer } from '@agenttier/sdk/testing/use-test-server';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testing/run-cli.ts';

const server = useTestServer();
const cli = (...argv: string[]) => runCli(argv, { url: server.url });

/** GET answers walk through `seq`; the last one repeats. 404 means gone. */
function phases(name: string, seq: Array<string | 404>, extra: Record<string, unknown> = {}) {
  let i = 0;
  server.route(`GET /api/v1/sandboxes/${name}`, (_req, res) => {
    const next = seq[Math.min(i++, seq.length - 1)];
    if (next === 404) sendJson(res, 404, { error: `sandbox "${name}" not found`, code: 'SANDBOX_NOT_FOUND' });
    else sendJson(res, 200, sandboxView(name, next ?? 'Creating', extra));
  });
}

describe('sandbox create', () => {
  it('sends the request, waits with phase updates and prints a table row', async () => {
    server.route('POST /api/v1/sandboxes', (req, res) =>
      sendJson(res, 201, sandboxView(req.json<{ name: string }>().name, 'Creating')),
    );
    phases('demo', ['Creating', 'Creating', 'Running']);
    const r = await cli(
      'sandbox',
      'create',
      'demo',
      '--template',
      'general-coding',
      '--idle-timeout',
      '30m',
      '--storage-size',
      '5Gi',
      '-e',
      'A=1',
      '-e',
      'B=x=y',
      '-l',
      'team=ml',
      '--wait',
      '-n',
      'team-a',
    );
    expect(r.stderr).toContain('Sandbox demo created (Creating).');
    expect(r.code).toBe(0);
    expect(server.requests[0]?.json()).toEqual({
      name: 'demo',
      namespace: 'team-a',
      templateRef: { name: 'general-coding' },
      idleTimeout: '30m',
      storage: { size: '5Gi' },
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: 'x=y' },
      ],
      labels: { team: 'ml' },
    });
    expect(server.requests[1]?.query.get('namespace')).toBe('team-a');
    expect(r.stderr).toContain('Waiting for demo to be Running: Creating');
    expect(r.stderr).toMatch(/demo is Running \(\d+\.\ds\)/);
    const [header, row] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+STATUS\s+TEMPLATE\s+MODE\s+AGE$/);
    expect(row).toMatch(/^demo\s+Running\s+general-coding\s+code\s+90s$/);
    expect(header?.indexOf('STATUS')).toBe(row?.indexOf('Running'));
  });

  it('reports an Error phase with the server message and exits 1', async () => {
    server.route('POST /api/v1/sandboxes', (_req, res) => sendJson(res, 201, sandboxView('bad', 'Creating')));
    phases('bad', ['Creating', 'Error'], { message: 'image nope:latest not found' });
    const r = await cli('sandbox', 'create', 'bad', '-t', 'nope', '--wait');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: sandbox "bad" is in phase Error: image nope:latest not found');
    expect(r.stderr).toContain('Hint: Inspect it with `agenttier sandbox get bad`');
    expect(r.stdout).toBe('');
  });

  it('maps a 400 with field details to exit 5', async () => {
    server.route('POST /api/v1/sandboxes', (_req, res) =>
      sendJson(res, 400, {
        error: 'invalid sandbox: timeout must be a duration',
        code: 'VALIDATION_FAILED',
        details: [{ field: 'timeout', rule: 'custom', message: 'must be a duration such as "30s"' }],
      }),
    );
    const r = await cli('sandbox', 'create', 'x', '-t', 'general-coding', '--timeout', 'soon');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(
      'Error: invalid sandbox: timeout must be a duration\n  - timeout: must be a duration such as "30s"',
    );
  });

  it('maps 409 ALREADY_EXISTS to exit 4 with a hint', async () => {
    server.route('POST /api/v1/sandboxes', (_req, res) =>
      sendJson(res, 409, { error: 'sandbox "x" already exists', code: 'ALREADY_EXISTS' }),
    );
    const r = await cli('sandbox', 'create', 'x', '-t', 'general-coding');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(
      'Hint: Pick another name, or delete the old one with `agenttier sandbox delete x`',
    );
  });

  it('checks flag values before sending anything', async () => {
    const r = await cli('sandbox', 'create', 'x', '-t', 't', '-e', 'NOEQUALS');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--env expects KEY=VALUE, got "NOEQUALS"');
    expect(server.requests).toHaveLength(0);
  });
});

describe('sandbox list / get', () => {
  it('prints aligned columns, adding NAMESPACE when several namespaces show', async () => {
    server.route('GET /api/v1/sandboxes', (_req, res) =>
      sendJson(res, 200, {
        sandboxes: [
          sandboxView('a-long-name', 'Running'),
          sandboxView('b', 'Stopped', { namespace: 'team', templateRef: 'minimal-shell', mode: 'agent' }),
        ],
      }),
    );
    const r = await cli('sandbox', 'list');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+NAMESPACE\s+STATUS\s+TEMPLATE\s+MODE\s+AGE$/);
    const col = lines[0]!.indexOf('STATUS');
    expect(lines[1]!.slice(col)).toMatch(/^Running /);
    expect(lines[2]!.slice(col)).toMatch(/^Stopped /);
    expect(lines[2]).toMatch(/^b\s+team\s+Stopped\s+minimal-shell\s+agent\s+90s$/);
  });

  it('prints full objects with -o json and -o yaml', async () => {
    server.route('GET /api/v1/sandboxes', (req, res) => {
      expect(req.query.get('status')).toBe('Running');
      sendJson(res, 200, { sandboxes: [sandboxView('a')] });
    });
    const json = await cli('sandbox', 'list', '--status', 'Running', '-o', 'json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({
      name: 'a',
      status: 'Running',
      podName: 'at-a',
      labels: {},
      conditions: [],
    });
    expect(json.stderr).toBe('');
    const yaml = await cli('-o', 'yaml', 'sandbox', 'list', '--status', 'Running');
    expect((parseYaml(yaml.stdout) as unknown[])[0]).toMatchObject({ name: 'a', uid: 'uid-a' });
  });

  it('says so on stderr when there are no sandboxes, but prints [] for json', async () => {
    server.route('GET /api/v1/sandboxes', (_req, res) => sendJson(res, 200, { sandboxes: null }));
    const r = await cli('sandbox', 'list');
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('No sandboxes found');
    expect((await cli('sandbox', 'list', '-o', 'json')).stdout).toBe('[]\n');
  });

  it('shows details including the Error message', async () => {
    phases('x', ['Error'], { message: 'container exited with code 1' });
    const r = await cli('sandbox', 'get', 'x');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name:\s+x$/m);
    expect(r.stdout).toMatch(/^Status:\s+Error$/m);
    expect(r.stdout).toMatch(/^Message:\s+container exited with code 1$/m);
  });

  it('exits 3 with a hint for an unknown sandbox', async () => {
    phases('ghost', [404]);
    const r = await cli('sandbox', 'get', 'ghost');
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'Error: sandbox "ghost" not found\nHint: Run `agenttier sandbox list` to see names\n',
    );
  });
});

describe('sandbox stop / resume / delete', () => {
  it('stop waits until Stopped by default', async () => {
    server.route('POST /api/v1/sandboxes/a/stop', (_req, res) => sendJson(res, 200, { status: 'stopping' }));
    phases('a', ['Running', 'Stopped']);
    const r = await cli('sandbox', 'stop', 'a');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/a is Stopped/);
  });

  it('stop --no-wait returns after one refresh; -o json prints the object', async () => {
    server.route('POST /api/v1/sandboxes/a/stop', (_req, res) => sendJson(res, 200, { status: 'stopping' }));
    phases('a', ['Running']);
    const r = await cli('sandbox', 'stop', 'a', '--no-wait', '-o', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'a', status: 'Running' });
    expect(server.requests.filter((q) => q.method === 'GET')).toHaveLength(1);
  });

  it('maps INVALID_PHASE to exit 4', async () => {
    server.route('POST /api/v1/sandboxes/a/resume', (_req, res) =>
      sendJson(res, 409, { error: 'cannot resume sandbox in phase Running', code: 'INVALID_PHASE' }),
    );
    const r = await cli('sandbox', 'resume', 'a');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('Error: cannot resume sandbox in phase Running');
    expect(r.stderr).toContain('agenttier sandbox get a');
  });

  it('deletes several, keeps going past a failure and exits with its code', async () => {
    const del = (name: string) =>
      server.route(`DELETE /api/v1/sandboxes/${name}`, (_req, res) => {
        res.writeHead(204);
        res.end();
      });
    del('a');
    del('c');
    server.route('DELETE /api/v1/sandboxes/b', (_req, res) =>
      sendJson(res, 404, { error: 'sandbox "b" not found', code: 'SANDBOX_NOT_FOUND' }),
    );
    phases('a', ['Deleting', 404]);
    phases('c', [404]);
    const r = await cli('sandbox', 'delete', 'a', 'b', 'c', '--wait', '-o', 'json');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Error: sandbox "b" not found');
    expect(JSON.parse(r.stdout)).toEqual([
      { name: 'a', status: 'Deleted' },
      { name: 'c', status: 'Deleted' },
    ]);
  });
});

describe('sandbox exec', () => {
  it('passes the exit code through and splits stdout and stderr', async () => {
    server.route('POST /api/v1/sandboxes/box/exec', (req, res) => {
      expect(req.json()).toEqual({ command: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
      sendJson(res, 200, { stdout: 'out\n', stderr: 'err\n', exitCode: 7 });
    });
    const r = await cli('sandbox', 'exec', 'box', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7');
    expect(r).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  it('sends one shell string with --shell, plus timeout, env, cwd and stdin', async () => {
    server.route('POST /api/v1/sandboxes/box/exec', (req, res) => {
      expect(req.json()).toEqual({
        command: 'ls -la | wc -l',
        timeout: 5,
        env: { A: '1' },
        cwd: '/tmp',
        stdin: 'piped\n',
      });
      sendJson(res, 200, { stdout: '3\n', stderr: '', exitCode: 0 });
    });
    const r = await runCli(
      [
        'sandbox',
        'exec',
        'box',
        '--shell',
        '--timeout',
        '5',
        '-e',
        'A=1',
        '-C',
        '/tmp',
        '-i',
        '--',
        'ls',
        '-la',
        '|',
        'wc',
        '-l',
      ],
      { url: server.url, stdin: 'piped\n' },
    );
    expect(r).toMatchObject({ code: 0, stdout: '3\n' });
  });

  it('prints the whole result as JSON and still exits with the command code', async () => {
    server.route('POST /api/v1/sandboxes/box/exec', (_req, res) =>
      sendJson(res, 200, { stdout: 'x', stderr: 'y', exitCode: 3, durationMs: 12 }),
    );
    const r = await cli('-o', 'json', 'sandbox', 'exec', 'box', '--', 'false');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({ stdout: 'x', stderr: 'y', exitCode: 3, durationMs: 12 });
    expect(r.stderr).toBe('');
  });

  it('exits 124 when the server reports a timeout', async () => {
    server.route('POST /api/v1/sandboxes/box/exec', (_req, res) =>
      sendJson(res, 200, { stdout: '', stderr: '', exitCode: -1, timedOut: true }),
    );
    const r = await cli('sandbox', 'exec', 'box', '--timeout', '1', '--', 'sleep', '10');
    expect(r.code).toBe(124);
    expect(r.stderr).toContain('timed out after 1s');
  });

  it('hints at --shell when a one-word command with spaces is not found', async () => {
    server.route('POST /api/v1/sandboxes/box/exec', (_req, res) =>
      sendJson(res, 200, { stdout: '', stderr: 'exec: "ls -la": not found\n', exitCode: 127 }),
    );
    const r = await cli('sandbox', 'exec', 'box', '--', 'ls -la');
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('add --shell');
  });

  it('maps a stopped sandbox to exit 4 and usage mistakes to exit 2', async () => {
    server.route('POST /api/v1/sandboxes/box/exec', (_req, res) =>
      sendJson(res, 409, {
        error: 'sandbox "box" is not running (phase Stopped)',
        code: 'SANDBOX_NOT_RUNNING',
      }),
    );
    const stopped = await cli('sandbox', 'exec', 'box', '--', 'true');
    expect(stopped.code).toBe(4);
    expect(stopped.stderr).toContain('agenttier sandbox resume box');
    const noDash = await cli('sandbox', 'exec', 'box', 'ls', '-la');
    expect(noDash.code).toBe(2);
    expect(noDash.stderr).toContain('Put the command after `--`');
    const badTimeout = await cli('sandbox', 'exec', 'box', '--timeout', 'abc', '--', 'true');
    expect(badTimeout.code).toBe(2);
  });
});

describe('sandbox files', () => {
  it('lists a directory as a table and as JSON', async () => {
    server.route('GET /api/v1/sandboxes/box/files/', (req, res) => {
      expect(req.query.get('path')).toBe('/workspace/src');
      sendJson(res, 200, {
        path: '/workspace/src',
        entries: [
          {
            name: 'lib',
            path: '/workspace/src/lib',
            size: 4096,
            isDir: true,
            mode: 'drwxr-xr-x',
            modifiedAt: 1_700_000_000,
          },
          {
            name: 'main.py',
            path: '/workspace/src/main.py',
            size: 2048,
            isDir: false,
            mode: '-rw-r--r--',
            modifiedAt: 1_700_000_000,
          },
        ],
      });
    });
    const r = await cli('sandbox', 'files', 'ls', 'box', 'src');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^MODE\s+SIZE\s+MODIFIED\s+NAME$/m);
    expect(r.stdout).toMatch(/^drwxr-xr-x\s+-\s+2023-11-14 22:13\s+lib\/$/m);
    expect(r.stdout).toMatch(/^-rw-r--r--\s+2\.0Ki\s+2023-11-14 22:13\s+main\.py$/m);
    const json = await cli('sandbox', 'files', 'ls', 'box', '/workspace/src', '-o', 'json');
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(2);
  });

  it('shows control characters in names from the sandbox instead of sending them to the terminal', async () => {
    // Red team: a file named with an OSC title sequence retitled the terminal running
    // `agenttier sandbox files ls`, and a newline in a name faked a row of the listing.
    const hostile = [
      'esc\u001b]0;pwned\u0007x',
      'nl\n-rw-r--r--   1   2023-11-14 22:13   fake',
      'bidi\u202etxt.exe',
    ];
    server.route('GET /api/v1/sandboxes/box/files/', (_req, res) =>
      sendJson(res, 200, {
        path: '/workspace',
        entries: hostile.map((name, i) => ({
          name,
          path: `/workspace/${name}`,
          size: 1,
          isDir: false,
          mode: '-rw-r--r--',
          modifiedAt: 1_700_000_000,
          ...(i === 2 ? { symlinkTarget: 'to\u009b31m' } : {}),
        })),
      }),
    );
    const r = await cli('sandbox', 'files', 'ls', 'box');
    expect(r.code).toBe(0);
    // eslint-disable-next-line no-control-regex -- the point: no control character reaches the terminal
    expect(r.stdout.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1 + hostile.length);
    expect(r.stdout).toContain('esc\\x1b]0;pwned\\x07x');
    expect(r.stdout).toContain('nl\\x0a-rw-r--r--');
    expect(r.stdout).toContain('bidi\\u{202e}txt.exe -> to\\x9b31m');
  });

  it('cats raw bytes to stdout and maps a missing file to exit 3', async () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    server.route('GET /api/v1/sandboxes/box/files/workspace/bin', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(bytes);
    });
    server.route('GET /api/v1/sandboxes/box/files/workspace/nope', (_req, res) =>
      sendJson(res, 404, { error: 'file not found: /workspace/nope', code: 'FILE_NOT_FOUND' }),
    );
    const r = await cli('sandbox', 'files', 'cat', 'box', '/workspace/bin');
    expect(r.stdoutBytes.equals(bytes)).toBe(true);
    const missing = await cli('sandbox', 'files', 'cat', 'box', 'nope');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('Hint: Run `agenttier sandbox files ls box /workspace` to see files');
  });
});

describe('sandbox exec --stream', () => {
  const sse = (events: [string, unknown][]) =>
    events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join('');

  it('writes output as it arrives and exits with the code', async () => {
    server.route('POST /api/v1/sandboxes/box/exec/stream', (req, res) => {
      expect(req.json()).toEqual({ command: ['make'] });
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(
        sse([
          ['start', { processId: 'p1', pid: 9 }],
          ['stdout', { data: 'building\n', offset: 0 }],
          ['stderr', { data: 'warning\n', offset: 0 }],
          ['exit', { exitCode: 2, signal: null, timedOut: false, durationMs: 5 }],
        ]),
      );
    });
    const r = await cli('sandbox', 'exec', 'box', '--stream', '--', 'make');
    expect(r).toMatchObject({ code: 2, stdout: 'building\n', stderr: 'warning\n' });
    const json = await cli('sandbox', 'exec', 'box', '--stream', '-o', 'json', '--', 'make');
    const events = json.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events.map((e) => e.type)).toEqual(['start', 'stdout', 'stderr', 'exit']);
    expect(json.code).toBe(2);
  });

  it('maps a timed-out stream to 124 and a server error event to a failure', async () => {
    server.route('POST /api/v1/sandboxes/box/exec/stream', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(sse([['exit', { exitCode: -1, signal: 'SIGKILL', timedOut: true, durationMs: 1000 }]]));
    });
    server.route('POST /api/v1/sandboxes/gone/exec/stream', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(sse([['error', { code: 'RUNTIME_FAILED', message: 'sandboxd went away' }]]));
    });
    expect((await cli('sandbox', 'exec', 'box', '--stream', '--timeout', '1', '--', 'sleep', '5')).code).toBe(
      124,
    );
    const failed = await cli('sandbox', 'exec', 'gone', '--stream', '--', 'true');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('Error: sandboxd went away');
  });
});
