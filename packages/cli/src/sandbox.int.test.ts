/**
 * The CLI against a real local platform (Docker engine, sandboxd inside the sandboxes): the issue's
 * walkthrough, the terminal client, background processes and port-forward.
 *
 *   AGENTTIER_DOCKER_HOST=unix:///run/agenttier/docker.sock npx vitest run --project integration packages/cli/src/sandbox.int.test.ts
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliPlatform } from './testing/cli-platform.ts';
import { TtyCapture } from './testing/run-cli.ts';
import WebSocket from 'ws';
import { WS_ECHO_SERVER_JS } from '@agenttier/local/testing';
import { eventually } from '@agenttier/testkit';

const t = useCliPlatform('it-cli');
const { cli, start } = t;

describe('agenttier against a local platform', () => {
  it('walks through create --wait, exec, cp, stop, resume --wait, list -o json and delete', async () => {
    const created = await cli(
      'sandbox',
      'create',
      'walk',
      '-t',
      'general-coding',
      '--wait',
      '--wait-timeout',
      '3m',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^walk\s+Running\s+general-coding\s+code\s+\d+s$/m);

    const py = await cli('sandbox', 'exec', 'walk', '--', 'python3', '-c', 'print(6*7)');
    expect(py).toMatchObject({ code: 0, stdout: '42\n' });
    const sh = await cli('sandbox', 'exec', 'walk', '--shell', '--', 'echo $((40+2)) >&2; exit 5');
    expect(sh).toMatchObject({ code: 5, stderr: '42\n' });

    await writeFile(join(t.dir, 'hello.txt'), 'hello from the host\n');
    await mkdir(join(t.dir, 'src', 'lib'), { recursive: true });
    await writeFile(join(t.dir, 'src', 'main.py'), 'print("main")\n');
    await writeFile(join(t.dir, 'src', 'lib', 'util.py'), 'X = 1\n');
    expect((await cli('sandbox', 'cp', './hello.txt', 'walk:/workspace/hello.txt')).code).toBe(0);
    expect((await cli('sandbox', 'cp', './src', 'walk:/workspace/src')).code).toBe(0);
    const tree = await cli(
      'sandbox',
      'exec',
      'walk',
      '--shell',
      '--',
      'cd /workspace && find src -type f | sort && cat hello.txt',
    );
    expect(tree.stdout).toBe('src/lib/util.py\nsrc/main.py\nhello from the host\n');

    // The rest of the file commands: mkdir -p, mv, stat, rm -r, and their errors.
    expect((await cli('sandbox', 'files', 'mkdir', 'walk', 'out/logs', '-p')).code).toBe(0);
    expect((await cli('sandbox', 'files', 'mv', 'walk', 'src/main.py', 'out/main.py')).code).toBe(0);
    const stat = await cli('sandbox', 'files', 'stat', 'walk', 'out/main.py', '-o', 'json');
    expect(JSON.parse(stat.stdout)).toMatchObject({ path: '/workspace/out/main.py', isDir: false, size: 14 });
    const notEmpty = await cli('sandbox', 'files', 'rm', 'walk', 'out');
    expect(notEmpty.code).not.toBe(0);
    expect((await cli('sandbox', 'files', 'rm', 'walk', 'out', '-r')).code).toBe(0);
    const gone = await cli('sandbox', 'files', 'stat', 'walk', 'out');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/not found|no such/i);
    expect((await cli('sandbox', 'cp', 'walk:/workspace/src', './back')).code).toBe(0);
    expect(await readFile(join(t.dir, 'back', 'lib', 'util.py'), 'utf8')).toBe('X = 1\n');

    const stopped = await cli('sandbox', 'stop', 'walk', '--wait-timeout', '2m');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(
      (JSON.parse((await cli('sandbox', 'get', 'walk', '-o', 'json')).stdout) as { status: string }).status,
    ).toBe('Stopped');
    const blocked = await cli('sandbox', 'exec', 'walk', '--', 'true');
    expect(blocked.code).toBe(4);

    const resumed = await cli('sandbox', 'resume', 'walk', '--wait', '--wait-timeout', '3m');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await cli('sandbox', 'exec', 'walk', '--', 'cat', '/workspace/hello.txt')).stdout).toBe(
      'hello from the host\n',
    );

    // What it uses (its own cgroup: general-coding's 4Gi) and what happened to it, from the real feed.
    const top = await cli('sandbox', 'top', 'walk');
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout).toMatch(/^walk\s+\S+\/2\.00\s+\d+%\s+\S+\/4\.0Gi/m);
    const events = await cli('sandbox', 'events', 'walk', '-o', 'json');
    expect((JSON.parse(events.stdout) as Array<{ reason: string }>).map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Provisioned', 'Created', 'Running', 'Removed', 'Stopped']),
    );

    const listed = JSON.parse((await cli('sandbox', 'list', '-o', 'json')).stdout) as Array<{
      name: string;
      status: string;
    }>;
    expect(listed.map((s) => [s.name, s.status])).toContainEqual(['walk', 'Running']);

    const deleted = await cli('sandbox', 'delete', 'walk', '--wait', '--wait-timeout', '2m');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await cli('sandbox', 'get', 'walk')).code).toBe(3);
  });

  it('runs a terminal: piped input, re-attach to the same shell with its output replayed, detach, exit code', async () => {
    expect(
      (await cli('sandbox', 'create', 'box', '-t', 'general-coding', '--wait', '--wait-timeout', '3m')).code,
    ).toBe(0);

    // Piped input: the commands run in the shell and their output comes back.
    const piped = start(['sandbox', 'terminal', 'box', '--session', 'it']);
    await piped.waitFor(/Connected to box \(session it\)/);
    piped.stdin.write('cd /tmp && echo marker-$((40+2))\r');
    await piped.waitFor(/marker-42/, 'stdout', 20_000);
    piped.abort(); // leaves the session running
    expect(await piped.done).toBe(130);

    // On a TTY: the same session, earlier output replayed, the directory kept; detach with Ctrl-] d.
    const stdout = new TtyCapture();
    const tty = start(['sandbox', 'terminal', 'box', '--session', 'it'], { tty: true, stdout });
    await tty.waitFor(/Detach with Ctrl-\] d/);
    await tty.waitFor(/marker-42/, 'stdout');
    expect(tty.stdin.rawModes).toEqual([true]);
    tty.stdin.write('pwd; stty size\r');
    await tty.waitFor(/\/tmp\r?\n30 100/, 'stdout', 20_000);
    stdout.resizeTo(120, 33);
    tty.stdin.write('stty size\r');
    await tty.waitFor(/33 120/, 'stdout', 20_000);
    tty.stdin.write(Buffer.from([0x1d, 0x64]));
    expect(await tty.done).toBe(0);
    expect(tty.stdin.rawModes).toEqual([true, false]);
    expect(tty.stderr.text).toContain('Detached from session it of box');

    // The shell ends: the CLI exits with its exit code.
    const ending = start(['sandbox', 'terminal', 'box', '--session', 'it']);
    await ending.waitFor(/Connected/);
    ending.stdin.write('exit 3\r');
    expect(await ending.done).toBe(3);
  });

  it('starts a web server in the background, reads its logs and reaches it with port-forward', async () => {
    await writeFile(join(t.dir, 'index.html'), '<h1>hello from the sandbox</h1>\n');
    expect((await cli('sandbox', 'cp', './index.html', 'box:/workspace/site/index.html')).code).toBe(0);
    const started = await cli(
      'sandbox',
      'exec',
      'box',
      '-d',
      '--name',
      'web',
      '-C',
      '/workspace/site',
      '--',
      'python3',
      '-u',
      '-m',
      'http.server',
      '8000',
      '--bind',
      '127.0.0.1',
    );
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    expect(id).not.toBe('');

    const ps = await cli('sandbox', 'ps', 'box');
    expect(ps.stdout).toMatch(new RegExp(`^${id}\\s+web\\s+\\d+\\s+running\\s+`, 'm'));
    await eventually(
      async () => {
        const logs = await cli('sandbox', 'logs', 'box', id);
        return logs.stdout.includes('Serving HTTP on 127.0.0.1 port 8000') ? true : undefined;
      },
      'the server to start',
      15_000,
    );

    // auto → raw TCP over /ws/tcp when the server has it, else the preview proxy; both must serve the page.
    for (const mode of ['auto', 'http'] as const) {
      const pf = start(['sandbox', 'port-forward', 'box', '0:8000', '--mode', mode]);
      const m = await pf.waitFor(/Forwarding (?:http:\/\/)?127\.0\.0\.1:(\d+) -> box:8000 \((.+)\)/);
      // This server has the raw TCP route, so auto picks it; --mode http forces the preview proxy.
      expect(m[2]).toBe(mode === 'http' ? 'HTTP and WebSocket through the preview proxy' : 'raw TCP');
      const page = await eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${m[1]}/index.html`);
          return res.status === 200 ? res.text() : undefined;
        },
        `the page through port-forward (${m[2]})`,
        15_000,
      );
      expect(page).toBe('<h1>hello from the sandbox</h1>\n');
      pf.abort();
      expect(await pf.done).toBe(0);
    }

    const ports = await cli('sandbox', 'ports', 'list', 'box');
    // The preview's own origin: {port}-{sandbox}--{namespace}.localhost on the router's port.
    expect(ports.stdout).toMatch(/^8000\s+http\s+yes\s+http:\/\/8000-box--[a-z0-9-]+\.localhost:\d+\/$/m);
    const logs = await cli('sandbox', 'logs', 'box', id);
    expect(logs.stderr).toContain('"GET /index.html HTTP/1.1" 200');

    const killed = await cli('sandbox', 'kill', 'box', id, '--signal', 'TERM');
    expect(killed.code, killed.stderr).toBe(0);
    await eventually(
      async () => {
        const after = await cli('sandbox', 'ps', 'box', '-o', 'json');
        const p = (JSON.parse(after.stdout) as Array<{ id: string; state: string }>).find((x) => x.id === id);
        return p?.state === 'exited' ? true : undefined;
      },
      'the server to exit',
      15_000,
    );
    const follow = await cli('sandbox', 'logs', 'box', id, '-f');
    expect(follow.stderr).toMatch(new RegExp(`Process ${id} exited with code \\d+`));
    expect((await cli('sandbox', 'ports', 'remove', 'box', '8000')).code).toBe(0);
  });

  it("carries a WebSocket both ways through port-forward's HTTP mode (the preview proxy)", async () => {
    await writeFile(join(t.dir, 'ws-echo.js'), WS_ECHO_SERVER_JS);
    expect((await cli('sandbox', 'cp', './ws-echo.js', 'box:/workspace/ws-echo.js')).code).toBe(0);
    const started = await cli('sandbox', 'exec', 'box', '-d', '--', 'node', '/workspace/ws-echo.js', '8002');
    expect(started.code, started.stderr).toBe(0);
    const pf = start(['sandbox', 'port-forward', 'box', '0:8002', '--mode', 'http']);
    try {
      const [, port] = await pf.waitFor(/Forwarding http:\/\/127\.0\.0\.1:(\d+) -> box:8002/);
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/`)).status === 200,
        'the echo server to answer through port-forward',
        30_000,
      );
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      for (const text of ['one', 'two']) {
        const reply = new Promise<string>((resolve) => ws.once('message', (m) => resolve(m.toString())));
        ws.send(text);
        expect(await reply).toBe(`echo:${text}`);
      }
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.close();
      await closed;
    } finally {
      pf.abort();
    }
    expect(await pf.done).toBe(0);
    await cli('sandbox', 'exec', 'box', '--shell', '--', 'pkill -f ws-echo.js || true');
  });
});
