import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import type { LocalPlatform } from './local-platform.ts';
import { api, startTestPlatform, stopTestPlatform, testNamespace, waitForPhase } from './testing/platform.ts';
import { collectSse, readSse } from './testing/sse.ts';

const ns = testNamespace('it-agent');
let platform: LocalPlatform & { dataDir: string };
let base: string;
const agentPy = readFileSync(new URL('../../../examples/echo-agent/agent.py', import.meta.url), 'utf8');

const url = (name: string, path: string, query = '') =>
  `${base}/api/v1/sandboxes/${name}${path}?namespace=${ns}${query}`;
const configure = (name: string, body: unknown) =>
  fetch(url(name, '/configure'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
  });
const invoke = (name: string, body: string, query = '', signal?: AbortSignal) =>
  fetch(url(name, '/invoke', query), {
    method: 'POST',
    // A string body would go out as text/plain, which the router refuses on POST (cross-site forms).
    headers: { accept: 'text/event-stream', 'content-type': 'application/octet-stream' },
    body,
    ...(signal ? { signal } : {}),
  });
const exec = async (name: string, command: string) =>
  (await api(base, 'POST', `/api/v1/sandboxes/${name}/exec?namespace=${ns}`, { command })).json;

beforeAll(async () => {
  platform = await startTestPlatform();
  base = platform.url;
  for (const [name, template] of [
    ['demo-agent', 'langgraph-agent'],
    ['code-box', 'minimal-shell'],
  ] as const) {
    await api(base, 'POST', '/api/v1/sandboxes', {
      name,
      namespace: ns,
      templateRef: { name: template, kind: 'ClusterSandboxTemplate' },
    });
  }
  await waitForPhase(base, ns, 'demo-agent', 'Running');
  await waitForPhase(base, ns, 'code-box', 'Running');
});

afterAll(async () => {
  await stopTestPlatform(platform, { namespace: ns });
});

describe('agent mode: /configure and /invoke', () => {
  it('refuses before configure: 424 without an entrypoint, 400 on a code-mode sandbox', async () => {
    const r = await invoke('demo-agent', 'world');
    expect(r.status).toBe(424);
    expect(((await r.json()) as { code: string }).code).toBe('NOT_CONFIGURED');
    const code = await invoke('code-box', 'x');
    expect(code.status).toBe(400);
    expect(((await code.json()) as { error: string }).error).toMatch(/mode "code".*exec and files/);
    expect((await configure('code-box', { entrypoint: ['true'] })).status).toBe(400);
    // Nothing configured yet: the read API says so (200), and a code-mode sandbox has no agent config.
    const none = await api(base, 'GET', `/api/v1/sandboxes/demo-agent/agent/config?namespace=${ns}`);
    expect(none.status).toBe(200);
    expect(none.json).toMatchObject({ configured: false, entrypoint: [], installCommand: [], files: [] });
    const codeMode = await api(base, 'GET', `/api/v1/sandboxes/code-box/agent/config?namespace=${ns}`);
    expect(codeMode.status).toBe(400);
    expect(codeMode.json.code).toBe('WRONG_MODE');
  });

  it('follows the seed quickstart event by event', async () => {
    const res = await configure('demo-agent', {
      files: [{ path: '/workspace/agent.py', content: 'import sys\nprint(f"hello {sys.stdin.read()}")\n' }],
      entrypoint: ['python', '/workspace/agent.py'],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await collectSse(res);
    expect(events.map((e) => e.event)).toEqual(['log', 'result']);
    expect(events[0]!.data).toEqual({ stream: 'stdout', data: '[configure] uploading /workspace/agent.py' });
    expect(events[1]!.data).toMatchObject({
      installExitCode: 0,
      skipped: false,
      entrypoint: ['python', '/workspace/agent.py'],
    });
    expect(events[1]!.data.installCommandHash).toMatch(/^[0-9a-f]{64}$/);

    const inv = await collectSse(await invoke('demo-agent', 'world'));
    expect(inv.map((e) => e.event)).toEqual(['start', 'log', 'exit']);
    expect(inv[0]!.data.invokeId).toMatch(/^inv-[0-9a-f]{24}$/);
    expect(typeof inv[0]!.data.startedAt).toBe('number');
    expect(inv[1]!.data).toEqual({ stream: 'stdout', data: 'hello world' });
    expect(inv[2]!.data).toMatchObject({ invokeId: inv[0]!.data.invokeId, exitCode: 0, reason: 'completed' });
    expect(typeof inv[2]!.data.durationMs).toBe('number');
  });

  it('skips an identical configure and re-runs install when a file changes', async () => {
    const body = {
      files: [
        { path: '/workspace/agent.py', content: agentPy },
        { path: '/workspace/requirements.txt', content: '# none\n' },
      ],
      installCommand: ['sh', '-c', 'echo installing; echo warn >&2; touch /workspace/.installed'],
      entrypoint: ['python3', '/workspace/agent.py'],
    };
    const first = await collectSse(await configure('demo-agent', body));
    expect(first.at(-1)).toMatchObject({ event: 'result', data: { skipped: false, installExitCode: 0 } });
    expect(first.map((e) => e.data.data)).toEqual(
      expect.arrayContaining([
        '[configure] running install: sh -c echo installing; echo warn >&2; touch /workspace/.installed',
        'installing',
        'warn',
      ]),
    );
    expect(first.find((e) => e.data.data === 'warn')!.data.stream).toBe('stderr');
    const again = await collectSse(await configure('demo-agent', body));
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ event: 'result', data: { skipped: true } });
    const changed = await collectSse(
      await configure('demo-agent', {
        ...body,
        files: [{ path: '/workspace/agent.py', content: agentPy + '\n# v2\n' }],
      }),
    );
    expect(changed.at(-1)).toMatchObject({ event: 'result', data: { skipped: false } });
    // The read API returns what was configured: the seed's status fields, the install argv and the
    // files' paths and sizes (never their contents).
    const configUrl = `/api/v1/sandboxes/demo-agent/agent/config?namespace=${ns}`;
    const cfg = await api(base, 'GET', configUrl);
    expect(cfg.json).toMatchObject({
      configured: true,
      entrypoint: body.entrypoint,
      installCommand: body.installCommand,
      installExitCode: 0,
      installCommandHash: changed.at(-1)!.data.installCommandHash,
      files: [{ path: '/workspace/agent.py', sizeBytes: Buffer.byteLength(agentPy + '\n# v2\n') }],
    });
    expect(cfg.json).toHaveProperty('lastConfiguredAt');
    expect(cfg.json).toHaveProperty('maxConcurrentInvokes');
    expect(cfg.json).toHaveProperty('defaultInvokeTimeoutSeconds');
    expect(JSON.stringify(cfg.json)).not.toContain('# v2');
    const log = await api(base, 'GET', `/api/v1/sandboxes/demo-agent/configure/install-log?namespace=${ns}`);
    expect(log.json.log).toContain('installing');
    // A failing install reports its exit code in `result`; a timeout is an `error` event.
    const failing = await collectSse(
      await configure('demo-agent', { installCommand: ['sh', '-c', 'exit 7'] }),
    );
    expect(failing.at(-1)).toMatchObject({ event: 'result', data: { installExitCode: 7 } });
    const slow = await collectSse(
      await configure('demo-agent', { installCommand: ['sleep', '30'], installTimeout: '1s' }),
    );
    expect(slow.at(-1)).toMatchObject({
      event: 'error',
      data: { phase: 'install', message: 'install timed out after 1s' },
    });
    // A failed install leaves the last successful configuration in place.
    expect((await api(base, 'GET', configUrl)).json.installCommand).toEqual(body.installCommand);
    // Env names are listed, their values never (they are often credentials).
    const secret = 'sekret-value-' + Math.random().toString(36).slice(2);
    const patched = await api(base, 'PATCH', `/api/v1/sandboxes/demo-agent?namespace=${ns}`, {
      env: [{ name: 'API_TOKEN', value: secret }],
    });
    expect(patched.status).toBe(200);
    const withEnv = await api(base, 'GET', configUrl);
    expect(withEnv.json.envNames).toContain('API_TOKEN');
    expect(JSON.stringify(withEnv.json)).not.toContain(secret);
    // Restore a working configuration for the next tests.
    await collectSse(await configure('demo-agent', body));
  });

  it('validates configure input before streaming', async () => {
    expect((await configure('demo-agent', {})).status).toBe(400);
    expect(
      (await configure('demo-agent', { files: [{ path: '/workspace/../etc/x', content: 'x' }] })).status,
    ).toBe(400);
    expect((await configure('demo-agent', { files: [{ path: '/etc/passwd', content: 'x' }] })).status).toBe(
      403,
    );
    expect(
      (
        await configure('demo-agent', {
          files: [{ path: '/workspace/a', content: 'x', contentBase64: 'eA==' }],
        })
      ).status,
    ).toBe(400);
  });

  it('passes the exit code through and tags stderr', async () => {
    const events = await collectSse(await invoke('demo-agent', 'fail 3'));
    expect(events.find((e) => e.event === 'log')!.data).toEqual({
      stream: 'stderr',
      data: 'failing on request',
    });
    expect(events.at(-1)!.data).toMatchObject({ exitCode: 3, reason: 'completed' });
    const prompt = await collectSse(await invoke('demo-agent', '', '&prompt=echo%20from%20prompt'));
    expect(prompt.find((e) => e.event === 'log')!.data.data).toBe('from prompt');
  });

  it('times out with reason timeout and cancels by id with reason canceled', async () => {
    const timedOut = await collectSse(await invoke('demo-agent', 'sleep 20', '&timeout=1s'));
    expect(timedOut.at(-1)!.data).toMatchObject({ exitCode: -1, reason: 'timeout' });
    expect((await exec('demo-agent', 'pgrep -f "[a]gent.py" || echo none')).stdout.trim()).toBe('none');

    const res = await invoke('demo-agent', 'sleep 20');
    const events: Array<{ event: string; data: any }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    for await (const rec of readSse(res)) {
      if (!('event' in rec)) continue;
      events.push(rec);
      if (rec.event === 'log') {
        const cancel = await api(base, 'POST', `/api/v1/sandboxes/demo-agent/invoke/cancel?namespace=${ns}`, {
          invokeId: events[0]!.data.invokeId,
        });
        expect(cancel.status).toBe(204);
      }
    }
    expect(events.at(-1)).toMatchObject({ event: 'exit', data: { reason: 'canceled', exitCode: -1 } });
    expect(
      await api(base, 'POST', `/api/v1/sandboxes/demo-agent/invoke/cancel?namespace=${ns}`, {
        invokeId: 'inv-nope',
      }),
    ).toMatchObject({ status: 404, json: { code: 'INVOKE_NOT_FOUND' } });
    expect(
      (await api(base, 'POST', `/api/v1/sandboxes/demo-agent/invoke/cancel?namespace=${ns}`, {})).status,
    ).toBe(400);
  });

  it('kills the process when the client disconnects', async () => {
    const abort = new AbortController();
    const res = await invoke('demo-agent', 'sleep 30', '', abort.signal);
    let invokeId = '';
    for await (const rec of readSse(res)) {
      if ('event' in rec && rec.event === 'start') invokeId = rec.data.invokeId;
      if ('event' in rec && rec.event === 'log') break;
    }
    abort.abort();
    const record = await eventually(async () => {
      const r = (await api(base, 'GET', `/api/v1/sandboxes/demo-agent/invokes/${invokeId}?namespace=${ns}`))
        .json;
      return r.state === 'finished' && r;
    }, 'the cancelled invoke to finish');
    expect(record).toMatchObject({ state: 'finished', reason: 'canceled' });
    await eventually(
      async () => (await exec('demo-agent', 'pgrep -f "[a]gent.py" || echo none')).stdout.trim() === 'none',
      'no agent process left',
    );
  });

  it('keeps a detached invoke running after the client leaves and replays it on re-attach', async () => {
    const abort = new AbortController();
    const res = await invoke('demo-agent', 'count 5000', '&detach=true', abort.signal);
    const invokeId = res.headers.get('x-invoke-id')!;
    for await (const rec of readSse(res)) if ('event' in rec && rec.event === 'log') break;
    abort.abort();
    const full = await collectSse(await fetch(url('demo-agent', `/invokes/${invokeId}/stream`)));
    const lines = full.filter((e) => e.event === 'log').map((e) => e.data.data);
    expect(lines).toHaveLength(5000);
    expect(lines[0]).toBe('1');
    expect(lines.at(-1)).toBe('5000');
    expect(full.at(-1)).toMatchObject({ event: 'exit', data: { reason: 'completed', exitCode: 0 } });
    // Resuming from an id replays only what came after it.
    const tail = await collectSse(
      await fetch(url('demo-agent', `/invokes/${invokeId}/stream`), {
        headers: { 'last-event-id': String(5000) },
      }),
    );
    expect(tail.map((e) => e.event)).toEqual(['log', 'exit']);
    expect(tail[0]!.data.data).toBe('5000');
    const record = (
      await api(base, 'GET', `/api/v1/sandboxes/demo-agent/invokes/${invokeId}?namespace=${ns}`)
    ).json;
    expect(record).toMatchObject({ state: 'finished', detached: true, exitCode: 0, bytesStderr: 0 });
    expect(record.outputTail).toMatch(/5000\n$/);
    const list = (await api(base, 'GET', `/api/v1/sandboxes/demo-agent/invokes?namespace=${ns}`)).json;
    expect(list.invokes[0].invokeId).toBe(invokeId);
  });

  it('enforces maxConcurrentInvokes: of 10 concurrent invokes exactly 3 run, 7 get 429 with Retry-After', async () => {
    const cfg = await collectSse(
      await configure('demo-agent', {
        entrypoint: ['python3', '/workspace/agent.py'],
        maxConcurrentInvokes: 3,
      }),
    );
    expect(cfg.at(-1)!.event).toBe('result');
    // The admitted ones run far longer than the test, so exactly 3 are in flight however slowly the
    // 10 requests arrive; they end when their requests are cancelled.
    const cancel = new AbortController();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => invoke('demo-agent', 'sleep 600', '', cancel.signal)),
    );
    const ok = responses.filter((r) => r.status === 200);
    const throttled = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(3);
    expect(throttled).toHaveLength(7);
    for (const r of throttled) {
      expect(r.headers.get('retry-after')).toBe('5');
      expect(await r.json()).toMatchObject({ error: 'concurrency_exceeded', limit: 3, inflight: 3 });
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/agenttier_invoke_throttled_total\{template="langgraph-agent"\} 7/);
    cancel.abort();
    // Their slots come free: an invoke is admitted and completes.
    const after = await eventually(
      async () => {
        const r = await invoke('demo-agent', 'count 1');
        return r.status === 200 ? r : (await r.body?.cancel(), undefined);
      },
      'a free slot after the cancel',
      30_000,
    );
    expect((await collectSse(after)).at(-1)!.data.reason).toBe('completed');
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
      /agenttier_invoke_requests_total\{template="langgraph-agent",outcome="completed"\}/,
    );
  });

  it('drops a deleted sandbox’s invoke records and install log; a new sandbox of that name starts clean', async () => {
    const create = () =>
      api(base, 'POST', '/api/v1/sandboxes', {
        name: 'short-lived',
        namespace: ns,
        templateRef: { name: 'langgraph-agent', kind: 'ClusterSandboxTemplate' },
      });
    await create();
    await waitForPhase(base, ns, 'short-lived', 'Running');
    const confRes = await configure('short-lived', { installCommand: 'echo installed', entrypoint: ['cat'] });
    expect(confRes.status, await confRes.clone().text()).toBe(200);
    const conf = await collectSse(confRes);
    const logRes = await api(
      base,
      'GET',
      `/api/v1/sandboxes/short-lived/configure/install-log?namespace=${ns}`,
    );
    expect(JSON.stringify(logRes.json), JSON.stringify(conf)).toMatch(/installed/);
    expect(await platform.agentRecords.getInstallLog(ns, 'short-lived')).toMatch(/installed/);
    await collectSse(await invoke('short-lived', 'once'));
    expect(await platform.agentRecords.listInvokes(ns, 'short-lived', 10)).toHaveLength(1);

    const del = await api(base, 'DELETE', `/api/v1/sandboxes/short-lived?namespace=${ns}`);
    expect(del.status).toBeLessThan(300);
    expect(await platform.agentRecords.listInvokes(ns, 'short-lived', 10)).toEqual([]);
    expect(await platform.agentRecords.getInstallLog(ns, 'short-lived')).toBeUndefined();
  });

  it('aborts a configure still installing when its sandbox is deleted, and keeps no install log', async () => {
    await api(base, 'POST', '/api/v1/sandboxes', {
      name: 'mid-install',
      namespace: ns,
      templateRef: { name: 'langgraph-agent', kind: 'ClusterSandboxTemplate' },
    });
    await waitForPhase(base, ns, 'mid-install', 'Running');
    const res = await configure('mid-install', {
      installCommand: ['sh', '-c', 'echo installing; sleep 60'],
      entrypoint: ['cat'],
    });
    const events = readSse(res);
    for await (const ev of events)
      if ('event' in ev && ev.event === 'log' && /installing/.test(ev.data.data)) break;
    const del = await api(base, 'DELETE', `/api/v1/sandboxes/mid-install?namespace=${ns}`);
    expect(del.status).toBeLessThan(300);
    const rest = [];
    for await (const ev of events) if ('event' in ev) rest.push(ev.event);
    expect(rest).not.toContain('result'); // it did not run to the end
    expect(await platform.agentRecords.getInstallLog(ns, 'mid-install')).toBeUndefined();
  });

  it('refuses a body over 16 MiB with 413 and an invoke on a stopped sandbox with 409', async () => {
    const big = await fetch(url('demo-agent', '/invoke'), {
      method: 'POST',
      body: Buffer.alloc(16 * 1024 * 1024 + 1),
    });
    expect(big.status).toBe(413);
    await api(base, 'POST', `/api/v1/sandboxes/code-box/stop?namespace=${ns}`);
    await api(base, 'POST', `/api/v1/sandboxes/demo-agent/stop?namespace=${ns}`);
    await waitForPhase(base, ns, 'demo-agent', 'Stopped');
    expect((await invoke('demo-agent', 'x')).status).toBe(409);
  });
});
