import { describe, expect, it } from 'vitest';
import type { SandboxPhase } from '@agenttier/contract';
import { MAX_FILE_BYTES, PlatformError } from '@agenttier/contract';
import { appHelpers, expectError, json, useAppHarness } from '../testing/app-harness.ts';

/** exec, files and archive (routes/data-plane.ts) on the fake data plane. In-process on the shared harness (testing/app-harness.ts). */

const h = useAppHarness();
const { post, create, setPhase, running } = appHelpers(h);

describe('exec', () => {
  it('runs a string through /bin/sh -c with the default 30 s timeout', async () => {
    await running('sb');
    const r = await post('/api/v1/sandboxes/sb/exec', { command: 'echo hi' });
    expect(r.statusCode).toBe(200);
    expect(json(r)).toEqual({
      stdout: 'ran /bin/sh -c echo hi\n',
      stderr: '',
      exitCode: 0,
      durationMs: 3,
      timedOut: false,
      truncated: false,
    });
    expect(h.plane.execs[0]).toMatchObject({ argv: ['/bin/sh', '-c', 'echo hi'], timeoutMs: 30_000 });
  });

  it('runs an argv without a shell and passes timeout, env, cwd and stdin', async () => {
    await running('sb');
    await post('/api/v1/sandboxes/sb/exec', {
      command: ['python3', '-c', 'print(1)'],
      timeout: 5,
      env: { A: '1' },
      cwd: '/workspace',
      stdin: 'in',
    });
    expect(h.plane.execs[0]).toMatchObject({
      argv: ['python3', '-c', 'print(1)'],
      timeoutMs: 5000,
      env: { A: '1' },
      cwd: '/workspace',
    });
    expect(Buffer.from(h.plane.execs[0]!.stdin!).toString()).toBe('in');
  });

  it('reports a non-zero exit with 200', async () => {
    await running('sb');
    h.plane.execResult = { exitCode: 3, stderr: 'oops\n' };
    expect(json(await post('/api/v1/sandboxes/sb/exec', { command: 'exit 3' }))).toMatchObject({
      exitCode: 3,
      stderr: 'oops\n',
    });
  });

  it.each<[SandboxPhase]>([['Stopped'], ['Creating'], ['Error']])(
    'refuses exec on a %s sandbox with 409 SANDBOX_NOT_RUNNING',
    async (phase) => {
      await create('sb');
      await setPhase('sb', phase);
      const body = expectError(
        await post('/api/v1/sandboxes/sb/exec', { command: 'ls' }),
        409,
        'SANDBOX_NOT_RUNNING',
      );
      expect(body.message).toContain(`phase ${phase}`);
      expect(h.plane.execs).toEqual([]);
    },
  );

  it('refuses exec on a Running sandbox that is being stopped', async () => {
    await running('sb');
    await post('/api/v1/sandboxes/sb/stop');
    expectError(await post('/api/v1/sandboxes/sb/exec', { command: 'ls' }), 409, 'SANDBOX_NOT_RUNNING');
  });

  it('validates the exec body: command required, timeout positive and at most 3600', async () => {
    await running('sb');
    for (const [payload, field] of [
      [{}, 'command'],
      [{ command: '' }, 'command'],
      [{ command: 'ls', timeout: -1 }, 'timeout'],
      [{ command: 'ls', timeout: 3601 }, 'timeout'],
      [{ command: 'ls', timeout: '5' }, 'timeout'],
    ] as const) {
      const body = expectError(await post('/api/v1/sandboxes/sb/exec', payload), 400, 'VALIDATION_FAILED');
      expect((body.details as Array<{ field: string }>)[0]?.field).toBe(field);
    }
  });

  it('answers 500 INTERNAL without leaking the cause when the data plane throws something unexpected', async () => {
    await running('sb');
    h.plane.execResult = new Error('secret socket path /run/agenttier/xyz');
    const body = expectError(await post('/api/v1/sandboxes/sb/exec', { command: 'ls' }), 500, 'INTERNAL');
    expect(body.message).not.toContain('secret');
    expect(body.message).toContain(String(body.requestId));
  });

  it('passes a PlatformError from the data plane through with its status', async () => {
    await running('sb');
    h.plane.execResult = new PlatformError('TIMEOUT', 'exec timed out');
    expectError(await post('/api/v1/sandboxes/sb/exec', { command: 'ls' }), 504, 'TIMEOUT');
  });
});

describe('files', () => {
  const put = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'PUT',
      url,
      payload,
      headers: { 'content-type': 'application/octet-stream', ...headers },
    });

  it('writes raw bytes (any content type), reads them back and lists them', async () => {
    await running('sb');
    const w = await put('/api/v1/sandboxes/sb/files/workspace/notes.txt', 'keep me\n');
    expect(w.statusCode).toBe(201);
    expect(json(w)).toEqual({ path: '/workspace/notes.txt', bytes: 8 });
    const asJson = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/sandboxes/sb/files/tmp/data.json',
      headers: { 'content-type': 'application/json' },
      payload: '{not json either',
    });
    expect(asJson.statusCode).toBe(201); // file bodies are bytes, never parsed

    const r = await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/workspace/notes.txt' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('keep me\n');
    expect(r.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'content-length': '8',
      'content-disposition': 'attachment; filename="notes.txt"',
      'x-content-type-options': 'nosniff',
    });
    const list = json(
      await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/?path=/workspace' }),
    );
    expect(list).toEqual({
      path: '/workspace',
      entries: [expect.objectContaining({ name: 'notes.txt', size: 8, isDir: false })],
    });
  });

  it('takes uploads without a content type or form-encoded, as curl sends them', async () => {
    await running('sb');
    const bare = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/sandboxes/sb/files/workspace/a',
      payload: 'aa',
    });
    expect(bare.statusCode, bare.body).toBe(201);
    const form = await put('/api/v1/sandboxes/sb/files/workspace/b', 'x=1&y=2', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.statusCode, form.body).toBe(201);
    expect(h.plane.files.get('/workspace/b')?.toString()).toBe('x=1&y=2');
  });

  it('answers 404 FILE_NOT_FOUND for a missing file', async () => {
    await running('sb');
    expectError(
      await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/workspace/nope' }),
      404,
      'FILE_NOT_FOUND',
    );
  });

  it('accepts an upload above the 16 MiB JSON limit (files have their own 32 MiB cap)', async () => {
    await running('sb');
    const r = await put('/api/v1/sandboxes/sb/files/workspace/big.bin', Buffer.alloc(20 * 1024 * 1024, 1));
    expect(r.statusCode, r.body).toBe(201);
    expect(json(r).bytes).toBe(20 * 1024 * 1024);
  });

  it('refuses an upload over 32 MiB with 413 PAYLOAD_TOO_LARGE', async () => {
    await running('sb');
    const r = await put('/api/v1/sandboxes/sb/files/workspace/huge.bin', Buffer.alloc(MAX_FILE_BYTES + 1));
    expectError(r, 413, 'PAYLOAD_TOO_LARGE');
    expect(h.plane.files.has('/workspace/huge.bin')).toBe(false);
  });

  it('refuses a download over 32 MiB with 413 (the cap is passed to the data plane)', async () => {
    await running('sb');
    h.plane.files.set('/workspace/huge.bin', Buffer.alloc(MAX_FILE_BYTES + 1));
    expectError(
      await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/workspace/huge.bin' }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it.each([
    ['a ".." segment in the file path', '/api/v1/sandboxes/sb/files/workspace/a%2F..%2F..%2Fetc%2Fpasswd'],
    ['a ".." segment in the list path', '/api/v1/sandboxes/sb/files/?path=/workspace/../etc'],
    ['a trailing ".."', '/api/v1/sandboxes/sb/files/?path=/workspace/..'],
    ['a NUL byte', '/api/v1/sandboxes/sb/files/workspace/a%00b'],
    ['a newline', '/api/v1/sandboxes/sb/files/workspace/a%0Ab'],
    ['a carriage return', '/api/v1/sandboxes/sb/files/?path=/workspace/a%0Db'],
    ['an escape character', '/api/v1/sandboxes/sb/files/workspace/a%1Bb'],
    ['a DEL character', '/api/v1/sandboxes/sb/files/workspace/a%7Fb'],
    ['a backslash', '/api/v1/sandboxes/sb/files/workspace/a%5Cb'],
    ['a relative path', '/api/v1/sandboxes/sb/files/?path=workspace/notes.txt'],
    ['a ".." in an archive path', '/api/v1/sandboxes/sb/archive?path=/workspace/../../etc'],
  ])('refuses %s with 400 BAD_REQUEST', async (_why, url) => {
    await running('sb');
    expectError(await h.app.inject({ method: 'GET', url }), 400, 'BAD_REQUEST');
  });

  it('refuses ".." and control characters in upload paths too', async () => {
    await running('sb');
    expectError(
      await put('/api/v1/sandboxes/sb/files/workspace/..%2F..%2Fetc%2Fcron.d%2Fx', 'x'),
      400,
      'BAD_REQUEST',
    );
    expectError(await put('/api/v1/sandboxes/sb/files/workspace/a%0Ab', 'x'), 400, 'BAD_REQUEST');
    expect(h.plane.files.size).toBe(0);
  });

  it.each([
    ['/etc/passwd', '/api/v1/sandboxes/sb/files/etc/passwd'],
    ['/ (listing)', '/api/v1/sandboxes/sb/files/?path=/'],
    ['/home (listing)', '/api/v1/sandboxes/sb/files/?path=/home/sandbox'],
    ['a sibling of /workspace', '/api/v1/sandboxes/sb/files/workspace2/x'],
    ['a prefix trick', '/api/v1/sandboxes/sb/files/tmpfoo'],
    ['/proc', '/api/v1/sandboxes/sb/files/proc/self/environ'],
    ['an archive of /', '/api/v1/sandboxes/sb/archive?path=/'],
  ])('refuses %s outside /workspace and /tmp with 403 FORBIDDEN', async (_why, url) => {
    await running('sb');
    const body = expectError(await h.app.inject({ method: 'GET', url }), 403, 'FORBIDDEN');
    expect(body.message).toMatch(/outside the sandbox's file roots \(\/workspace, \/tmp\)/);
  });

  it('refuses an upload outside the roots with 403 and writing onto a root with 400', async () => {
    await running('sb');
    expectError(await put('/api/v1/sandboxes/sb/files/etc/profile', 'x'), 403, 'FORBIDDEN');
    expectError(await put('/api/v1/sandboxes/sb/files/workspace', 'x'), 400, 'BAD_REQUEST');
    expectError(await put('/api/v1/sandboxes/sb/files/', 'x'), 400, 'BAD_REQUEST');
    expect(h.plane.files.size).toBe(0);
  });

  it('allows /tmp and normalises doubled slashes', async () => {
    await running('sb');
    expect(json(await put('/api/v1/sandboxes/sb/files/tmp//x.txt', 'x'))).toEqual({
      path: '/tmp/x.txt',
      bytes: 1,
    });
  });

  it("confines to the sandbox's own mount path when it has one", async () => {
    await running('sb', { storage: { mountPath: '/data' } });
    expect((await put('/api/v1/sandboxes/sb/files/data/x', 'x')).statusCode).toBe(201);
    expectError(await put('/api/v1/sandboxes/sb/files/workspace/x', 'x'), 403, 'FORBIDDEN');
    expect(json(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/' })).path).toBe(
      '/data',
    );
  });

  it('refuses file access on a stopped sandbox with 409 SANDBOX_NOT_RUNNING', async () => {
    await create('sb');
    await setPhase('sb', 'Stopped');
    expectError(await put('/api/v1/sandboxes/sb/files/workspace/x', 'x'), 409, 'SANDBOX_NOT_RUNNING');
    expectError(
      await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/' }),
      409,
      'SANDBOX_NOT_RUNNING',
    );
    expectError(
      await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/archive' }),
      409,
      'SANDBOX_NOT_RUNNING',
    );
  });

  it('streams a zip archive of /workspace', async () => {
    await running('sb');
    h.plane.files.set('/workspace/a.txt', Buffer.from('a'));
    const r = await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/archive' });
    expect(r.statusCode).toBe(200);
    expect(r.headers).toMatchObject({
      'content-type': 'application/zip',
      'content-disposition': 'attachment; filename="sb-workspace.zip"',
      'cache-control': 'no-store',
    });
    expect(r.rawPayload.subarray(0, 4).toString('latin1')).toBe('PK\u0003\u0004');
    expect(r.rawPayload.includes(Buffer.from('a.txt'))).toBe(true);
  });
});
