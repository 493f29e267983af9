import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '@agenttier/testkit';
import { useLocalPlatform } from './testing/local-test-bed.ts';
import { readSse } from './testing/sse.ts';
import { openTerminal } from './testing/terminal.ts';
import { requestWithHost } from '@agenttier/server/testing';

const bed = useLocalPlatform('it-sbd', {
  setup: async () => void (await bed.createRunning('box', 'general-coding')),
});
const { ns } = bed;
const q = `?namespace=${ns}`;
const exec = async (name: string, command: string | string[]) =>
  (await bed.api('POST', `/api/v1/sandboxes/${name}/exec${q}`, { command })).json;

describe('sandboxd through the router', () => {
  it('runs 100 concurrent execs with correct outputs', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        exec('box', ['sh', '-c', `echo out-${i}; echo err-${i} >&2; exit ${i % 7}`]),
      ),
    );
    results.forEach((r, i) =>
      expect(r).toMatchObject({ stdout: `out-${i}\n`, stderr: `err-${i}\n`, exitCode: i % 7 }),
    );
  });

  it('streams exec output as it comes, and cancelling the request kills the process', async () => {
    const abort = new AbortController();
    const res = await fetch(`${bed.base}/api/v1/sandboxes/box/exec/stream${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Far longer than the test waits: the process ends because the request was cancelled, not by itself.
      body: JSON.stringify({ command: 'for i in $(seq 1 100000); do echo line-$i; sleep 0.1; done' }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const seen: string[] = [];
    let processId = '';
    for await (const rec of readSse(res)) {
      if (!('event' in rec)) continue;
      if (rec.event === 'start') processId = rec.data.processId;
      if (rec.event === 'stdout') seen.push(rec.data.data);
      if (seen.join('').includes('line-3')) break;
    }
    // The first lines arrived while the command was still running.
    const info = (await bed.api('GET', `/api/v1/sandboxes/box/processes/${processId}${q}`)).json;
    expect(info.state).toBe('running');
    abort.abort();
    await eventually(async () => {
      const p = (await bed.api('GET', `/api/v1/sandboxes/box/processes/${processId}${q}`)).json;
      return p.state === 'exited' || p.code === 'PROCESS_NOT_FOUND';
    }, 'the cancelled process to end');
    await eventually(
      async () => (await exec('box', 'pgrep -f "[l]ine-\\$i" || echo none')).stdout.trim() === 'none',
      'no process of the cancelled command left',
    );
  });

  it('runs background processes that can be listed, re-attached with replay, signalled and killed', async () => {
    const missing = `/api/v1/sandboxes/box/processes/no-such-process`;
    expect(await bed.api('GET', `${missing}${q}`)).toMatchObject({
      status: 404,
      json: { code: 'PROCESS_NOT_FOUND' },
    });
    expect(await bed.api('DELETE', `${missing}${q}`)).toMatchObject({
      status: 404,
      json: { code: 'PROCESS_NOT_FOUND' },
    });
    const started = await bed.api('POST', `/api/v1/sandboxes/box/processes${q}`, {
      command: 'echo first; sleep 60',
      name: 'bg',
    });
    expect(started.status).toBe(201);
    const id = started.json.id as string;
    const list = (await bed.api('GET', `/api/v1/sandboxes/box/processes${q}`)).json;
    expect(list.processes.map((p: { id: string }) => p.id)).toContain(id);
    const res = await fetch(`${bed.base}/api/v1/sandboxes/box/processes/${id}/output${q}`);
    for await (const rec of readSse(res)) {
      if ('event' in rec && rec.event === 'stdout') {
        expect(rec.data.data).toBe('first\n');
        break;
      }
    }
    const killed = await bed.api('POST', `/api/v1/sandboxes/box/processes/${id}/signal${q}`, {
      signal: 'TERM',
    });
    expect(killed.status).toBe(200);
    expect(
      (await bed.api('POST', `/api/v1/sandboxes/box/processes/${id}/signal${q}`, { signal: 'bad signal' }))
        .status,
    ).toBe(400);
  });

  it('keeps a terminal across reconnects: same shell, same directory, earlier output replayed; resize works', async () => {
    const t1 = await openTerminal(bed.base, `/ws/terminal/box${q}&session=t1`);
    t1.ws.send(JSON.stringify({ type: 'input', data: 'cd /tmp && echo marker-$((40+2))\r' }));
    await t1.waitFor(/marker-42/);
    t1.ws.send('this is not json');
    t1.ws.send(JSON.stringify({ type: 'ping' }));
    await eventually(
      () => t1.frames.some((f) => f.type === 'pong'),
      'a pong (the bad frame did not end the session)',
    );
    const t1Closed = new Promise((resolve) => t1.ws.once('close', resolve));
    t1.ws.close();
    await t1Closed;

    const t2 = await openTerminal(bed.base, `/ws/terminal/box${q}&session=t1`);
    await t2.waitFor(/marker-42/); // replayed
    t2.ws.send(JSON.stringify({ type: 'input', data: 'pwd\r' }));
    await t2.waitFor(/\/tmp\r?\n/);
    t2.ws.send(JSON.stringify({ type: 'resize', cols: 101, rows: 33 }));
    // Asked until the shell sees the new size (the resize and the input are separate frames).
    await eventually(
      async () => {
        t2.ws.send(JSON.stringify({ type: 'input', data: 'stty size\r' }));
        return t2.waitFor(/33 101/, 'stty size', 1_000).then(
          () => true,
          () => false,
        );
      },
      'the shell to see 33 rows, 101 columns',
      30_000,
    );
    t2.ws.close();
  });

  it('cuts an open terminal once the key it attached with is revoked', async () => {
    const created = (await bed.api('POST', '/api/v1/user/api-keys', { name: 'revoked-while-attached' }))
      .json as { id: string; key: string };
    const t = await openTerminal(bed.base, `/ws/terminal/box${q}&session=revoke`, {
      headers: { 'X-API-Key': created.key },
    });
    const { ws } = t;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    t.type('echo still-$((40+2))\n');
    await t.waitFor(/still-42/, 'the echo', 30_000);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect((await bed.api('DELETE', `/api/v1/user/api-keys/${created.id}`)).status).toBe(204);
    await closed; // the vitest timeout bounds this wait
    const events = (await bed.api('GET', '/api/v1/audit/events?limit=500')).json as {
      events: Array<{ action: string; status: number; target?: string }>;
    };
    expect(events.events.some((e) => e.action === 'WS /ws/terminal/:id cut' && e.status === 401)).toBe(true);
  });

  it('draws full-screen programs: top repaints with cursor addressing, vim edits and saves a file', async () => {
    const t = await openTerminal(bed.base, `/ws/terminal/box${q}&session=fullscreen&cols=90&rows=30`);
    t.ws.send(JSON.stringify({ type: 'resize', cols: 90, rows: 30 }));
    // The marker after `top` prints expanded only once top has exited (the echoed command line shows
    // `$((1+1))` unexpanded).
    t.ws.send(
      JSON.stringify({ type: 'input', data: 'echo term=$TERM; top -d 0.2; echo top-$((1+1))-done\r' }),
    );
    await t.waitFor(/term=xterm/);
    // top clears the screen and positions the cursor (CSI H / CSI J), then shows its summary.
    // eslint-disable-next-line no-control-regex -- the escape character is what is being checked
    await t.waitFor(/\x1b\[[0-9;]*H[\s\S]*Tasks:/);
    // A key pressed before top switched the terminal to raw mode is lost: press q until it quits.
    await eventually(
      () => {
        if (/top-2-done/.test(t.output())) return true;
        t.ws.send(JSON.stringify({ type: 'input', data: 'q' }));
        return false;
      },
      'top to quit on q',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // Ctrl-U first: a stray q that reached the shell after top quit must not prefix the command.
    t.ws.send(JSON.stringify({ type: 'input', data: '\x15vim -u NONE /tmp/drawn.txt\r' }));
    await t.waitFor(/"\/tmp\/drawn\.txt" \[New/); // vim's own status line, not the echoed command
    t.ws.send(JSON.stringify({ type: 'input', data: 'idrawn by vim' }));
    await t.waitFor(/drawn by vim/);
    // Esc, then save. Vim may take an Esc that arrives with more keys for the start of a key sequence,
    // so the pair is sent again until vim says it wrote the file (an extra Esc in normal mode only beeps).
    await eventually(
      () => {
        if (/written/.test(t.output())) return true;
        t.ws.send(JSON.stringify({ type: 'input', data: '\x1b:wq\r' }));
        return false;
      },
      'vim to write the file',
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    t.ws.send(JSON.stringify({ type: 'input', data: 'echo saved-$(wc -c < /tmp/drawn.txt)\r' }));
    await t.waitFor(/saved-13/);
    t.ws.close();
  });

  it('makes, stats, renames, watches and removes files, and refuses what leaves the roots', async () => {
    const fs = (path: string) =>
      `/api/v1/sandboxes/box/${path}${path.includes('?') ? '&' : '?'}namespace=${ns}`;
    const made = await bed.api('POST', fs('fs/mkdir'), { path: '/workspace/ops/a/b', parents: true });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ path: '/workspace/ops/a/b', isDir: true });

    // The change feed: `ready`, then one event per change under the directory (recursive by default).
    const ctl = new AbortController();
    const feed = await fetch(`${bed.base}${fs('fs/watch?path=/workspace/ops')}`, { signal: ctl.signal });
    expect(feed.status).toBe(200);
    const events = readSse(feed);
    expect(((await events.next()).value as { event: string }).event).toBe('ready');
    const put = await fetch(`${bed.base}/api/v1/sandboxes/box/files/workspace/ops/a/b/note.txt${q}`, {
      method: 'PUT',
      body: 'hello',
    });
    expect(put.status).toBe(201);
    let seen: { type: string; path: string } | undefined;
    for await (const ev of events) {
      if ('event' in ev && ev.event === 'change' && ev.data.path === '/workspace/ops/a/b/note.txt') {
        seen = ev.data;
        break;
      }
    }
    expect(seen?.type).toMatch(/created|modified/);
    ctl.abort();

    const stat = await bed.api('GET', fs('fs/stat?path=/workspace/ops/a/b/note.txt'));
    expect(stat.json).toMatchObject({ name: 'note.txt', size: 5, isDir: false });
    const moved = await bed.api('POST', fs('fs/rename'), {
      from: '/workspace/ops/a/b/note.txt',
      to: '/workspace/ops/moved.txt',
    });
    expect(moved.status).toBe(200);
    expect(moved.json).toMatchObject({ path: '/workspace/ops/moved.txt', size: 5 });
    expect((await bed.api('GET', fs('fs/stat?path=/workspace/ops/a/b/note.txt'))).status).toBe(404);

    // Bad input: outside the roots, a root itself, `..`, a non-empty directory without recursive.
    expect(
      (await bed.api('POST', fs('fs/rename'), { from: '/workspace/ops/moved.txt', to: '/etc/x' })).status,
    ).toBe(403);
    expect((await bed.api('DELETE', fs('files/workspace'))).status).toBe(400);
    expect((await bed.api('GET', fs('fs/stat?path=/workspace/../etc/passwd'))).status).toBe(400);
    expect((await bed.api('POST', fs('fs/mkdir'), {})).status).toBe(400);
    expect((await bed.api('GET', fs('fs/stat?path=/workspace&path=/tmp'))).status).toBe(400);
    expect((await bed.api('GET', fs('fs/watch'))).status).toBe(400);
    const notEmpty = await bed.api('DELETE', fs('files/workspace/ops'));
    expect(notEmpty.status).toBe(409);

    expect((await bed.api('DELETE', fs('files/workspace/ops?recursive=true'))).status).toBe(204);
    expect((await bed.api('GET', fs('fs/stat?path=/workspace/ops'))).status).toBe(404);
  });

  it('refuses a terminal on an unknown sandbox with a plain HTTP error', async () => {
    const ws = new WebSocket(`${bed.base.replace('http', 'ws')}/ws/terminal/nope${q}`);
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(404);
  });

  it('reaches a web server inside the no-network sandbox through the preview proxy, including a WebSocket', async () => {
    const script = readFileSync(new URL('./testing/ws-echo-server.js', import.meta.url));
    await bed.api('PUT', `/api/v1/sandboxes/box/files/workspace/server.js${q}`, script.toString());
    await bed.api('POST', `/api/v1/sandboxes/box/processes${q}`, {
      command: ['node', '/workspace/server.js', '8000'],
    });
    const previewHost = (port: number) => `${port}-box--${ns}.localhost:${new URL(bed.base).port}`;
    expect((await requestWithHost(bed.base, previewHost(8000), '/')).status).toBe(404); // not forwarded yet
    const fwd = await bed.api('POST', `/api/v1/sandboxes/box/ports${q}`, { port: 8000 });
    expect(fwd).toMatchObject({ status: 201, json: { port: 8000, protocol: 'http' } });
    expect(fwd.json.previewUrl).toBe(`http://${previewHost(8000)}/`);
    expect((await bed.api('POST', `/api/v1/sandboxes/box/ports${q}`, { port: 70000 })).status).toBe(400);
    const page = await eventually(
      async () => {
        const r = await requestWithHost(bed.base, previewHost(8000), '/some/path?x=1');
        return r.status === 200 && r;
      },
      'the page through the preview proxy',
      30_000,
    );
    expect(page).toMatchObject({ status: 200, text: 'hello from the sandbox GET /some/path?x=1' });
    const ports = (await bed.api('GET', `/api/v1/sandboxes/box/ports${q}`)).json;
    expect(ports.ports).toEqual([expect.objectContaining({ port: 8000, listening: true })]);

    const ws = new WebSocket(`${bed.base.replace('http', 'ws')}/socket`, {
      headers: { host: previewHost(8000) },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const reply = new Promise<string>((resolve) => ws.once('message', (m) => resolve(m.toString())));
    ws.send('ping-through-preview');
    expect(await reply).toBe('echo:ping-through-preview');
    ws.close();

    // Raw TCP over a WebSocket (port-forward): an HTTP request written by hand gets the page back.
    const tcp = new WebSocket(`${bed.base.replace('http', 'ws')}/ws/tcp/box/8000${q}`);
    await new Promise((resolve, reject) => {
      tcp.once('open', resolve);
      tcp.once('error', reject);
    });
    let raw = '';
    const closed = new Promise<void>((resolve) => tcp.once('close', () => resolve()));
    tcp.on('message', (m) => (raw += m.toString()));
    tcp.send(Buffer.from('GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    await closed;
    expect(raw).toMatch(/^HTTP\/1.1 200 OK/);
    expect(raw).toContain('hello from the sandbox GET /raw');

    await bed.api('POST', `/api/v1/sandboxes/box/ports${q}`, { port: 8001 });
    const down = await requestWithHost(bed.base, previewHost(8001), '/');
    expect(down.status).toBe(502);
    expect((await bed.api('DELETE', `/api/v1/sandboxes/box/ports/8001${q}`)).status).toBe(204);
  });

  it('the audit trail has the terminal and TCP attaches and the preview accesses (once per outcome)', async () => {
    const res = await bed.api('GET', '/api/v1/audit/events?limit=500');
    const events = (
      res.json as { events: Array<{ action: string; target?: string; status: number; actor?: string }> }
    ).events;
    const of = (action: string, status: number) =>
      events.filter((e) => e.action === action && e.status === status);
    // Three terminal attaches above (two sessions re-attached, the full-screen one), all let in.
    expect(of('WS /ws/terminal/:id', 101).length).toBeGreaterThanOrEqual(3);
    expect(of('WS /ws/terminal/:id', 101)[0]).toMatchObject({
      actor: 'dev-user',
      target: `sandbox:${ns}/box`,
    });
    expect(of('WS /ws/terminal/:id', 404)[0]).toMatchObject({ target: `sandbox:${ns}/nope` });
    expect(of('WS /ws/tcp/:id/:port', 101).length).toBeGreaterThanOrEqual(1);
    expect(of('WS preview', 101).length).toBeGreaterThanOrEqual(1);
    // Many preview requests above, one event per target and outcome.
    const previews = of('PREVIEW', 200).filter((e) => e.target === `sandbox:${ns}/box:8000`);
    expect(previews).toHaveLength(1);
  });
});
