import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentTier } from './client.ts';
import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  SandboxErrorStateError,
  ServerError,
  TimeoutError,
  ValidationError,
} from './errors.ts';
import { openSse, sandboxView, sendJson, startTestServer, type TestServer } from './testing/test-server.ts';
import { SDK_VERSION } from './version.ts';

let server: TestServer;
let client: AgentTier;
let dir: string;

beforeEach(async () => {
  server = await startTestServer();
  client = new AgentTier({ apiUrl: server.url, env: {} });
  dir = await mkdtemp(join(tmpdir(), 'agenttier-sdk-'));
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
  expect(server.unhandled).toEqual([]);
});

describe('connection options', () => {
  it('falls back to env for the URL and credentials, API key first', async () => {
    server.route('GET /api/v1/sandboxes', (_req, res) => sendJson(res, 200, { sandboxes: null }));
    const c = new AgentTier({
      env: { AGENTTIER_API_URL: `${server.url}/api/v1/`, AGENTTIER_API_KEY: 'atk_x', AGENTTIER_TOKEN: 't' },
    });
    expect(c.apiUrl).toBe(server.url);
    expect(await c.listSandboxes()).toEqual([]);
    const req = server.requests[0];
    expect(req?.headers['x-api-key']).toBe('atk_x');
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.headers['user-agent']).toBe(`agenttier-js-sdk/${SDK_VERSION}`);
  });

  it('sends an explicit token as Bearer even when the env has an API key', async () => {
    server.route('GET /api/v1/sandboxes', (_req, res) => sendJson(res, 200, { sandboxes: [] }));
    const c = new AgentTier({ apiUrl: server.url, token: 'jwt', env: { AGENTTIER_API_KEY: 'atk_env' } });
    await c.listSandboxes();
    expect(server.requests[0]?.headers.authorization).toBe('Bearer jwt');
    expect(server.requests[0]?.headers['x-api-key']).toBeUndefined();
  });

  it('rejects a URL that is not http(s)', () => {
    expect(() => new AgentTier({ apiUrl: 'localhost:8080', env: {} })).toThrow(/invalid AgentTier API URL/);
  });

  it('matches the package.json version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(SDK_VERSION).toBe(pkg.version);
  });
});

describe('sandboxes', () => {
  it('creates a sandbox with the seed-compatible body', async () => {
    server.route('POST /api/v1/sandboxes', (req, res) => {
      const body = req.json<{ name: string }>();
      sendJson(res, 201, sandboxView(body.name, 'Creating'));
    });
    const sb = await client.createSandbox({
      name: 'demo',
      template: 'general-coding',
      namespace: 'team',
      timeout: '8h',
      idleTimeout: '30m',
      storageSize: '5Gi',
      env: { A: '1' },
      labels: { x: 'y' },
    });
    expect(sb.name).toBe('demo');
    expect(sb.status).toBe('Creating');
    expect(server.requests[0]?.json()).toEqual({
      name: 'demo',
      namespace: 'team',
      templateRef: { name: 'general-coding' },
      timeout: '8h',
      idleTimeout: '30m',
      storage: { size: '5Gi' },
      env: [{ name: 'A', value: '1' }],
      labels: { x: 'y' },
    });
    expect(server.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('copes with the seed product partial create answer', async () => {
    server.route('POST /api/v1/sandboxes', (_req, res) =>
      sendJson(res, 201, {
        sandboxId: 'demo',
        name: 'demo',
        namespace: 'default',
        status: 'Creating',
        templateRef: 'x',
      }),
    );
    const sb = await client.createSandbox({ name: 'demo', template: 'x' });
    expect(sb.info.labels).toEqual({});
    expect(sb.status).toBe('Creating');
  });

  it('lists with filters and tolerates null', async () => {
    server.route('GET /api/v1/sandboxes', (req, res) => {
      expect(req.query.get('namespace')).toBe('team');
      expect(req.query.get('status')).toBe('Running');
      sendJson(res, 200, { sandboxes: [sandboxView('a'), sandboxView('b')] });
    });
    const list = await client.listSandboxes({ namespace: 'team', status: 'Running' });
    expect(list.map((s) => s.name)).toEqual(['a', 'b']);
    expect(JSON.parse(JSON.stringify(list[0]))).toMatchObject({ name: 'a', status: 'Running' });
  });

  it('maps a 404 body to NotFoundError with code and request id', async () => {
    server.route('GET /api/v1/sandboxes/nope', (_req, res) =>
      sendJson(res, 404, {
        error: 'sandbox "nope" not found',
        code: 'SANDBOX_NOT_FOUND',
        message: 'sandbox "nope" not found',
        requestId: 'r1',
      }),
    );
    const err = await client.getSandbox('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ code: 'SANDBOX_NOT_FOUND', status: 404, requestId: 'r1' });
  });

  it('maps 409, 401, 400 with details, 429 with Retry-After and text 5xx', async () => {
    server.route('POST /api/v1/sandboxes/a/stop', (_req, res) =>
      sendJson(res, 409, { error: 'cannot stop sandbox in phase Stopped', code: 'INVALID_PHASE' }),
    );
    server.route('POST /api/v1/sandboxes/a/resume', (_req, res) =>
      sendJson(res, 401, { error: 'missing authentication', code: 'UNAUTHENTICATED' }),
    );
    server.route('POST /api/v1/sandboxes', (_req, res) =>
      sendJson(res, 400, {
        error: 'invalid sandbox: name must be lowercase',
        code: 'VALIDATION_FAILED',
        details: [{ field: 'name', rule: 'invalid_format', message: 'must be lowercase' }],
      }),
    );
    server.route('GET /api/v1/templates', (_req, res) =>
      sendJson(res, 429, { error: 'rate_limited', message: 'slow down' }, { 'Retry-After': '7' }),
    );
    server.route('DELETE /api/v1/sandboxes/a', (_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end('upstream unreachable');
    });
    const sb = client.sandbox('a');
    await expect(sb.stop()).rejects.toBeInstanceOf(ConflictError);
    await expect(sb.resume()).rejects.toBeInstanceOf(AuthenticationError);
    const invalid = await client.createSandbox({ name: 'A', template: 't' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).details[0]?.field).toBe('name');
    const limited = await client.templates.list().catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterMs).toBe(7000);
    const broken = await sb.delete().catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(ServerError);
    expect((broken as ServerError).serverMessage).toBe('upstream unreachable');
    expect((broken as ServerError).requestId).toBeUndefined();
  });

  it('raises ConnectionError pointing at `agenttier up` when nothing listens', async () => {
    const url = server.url;
    await server.close();
    const c = new AgentTier({ apiUrl: url, env: {} });
    const err = await c.listSandboxes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect((err as Error).message).toContain('agenttier up');
    expect((err as Error).message).toContain('AGENTTIER_API_URL');
  });

  it('aborts a request with the caller signal reason', async () => {
    const ac = new AbortController();
    server.route('GET /api/v1/sandboxes/slow', () => {
      ac.abort(); // while the request is in flight; it is never answered
    });
    const pending = client.getSandbox('slow', { signal: ac.signal });
    const err = await pending.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });

  it('fails with TimeoutError after timeoutMs', async () => {
    server.route('GET /api/v1/sandboxes/slow', () => {
      // never answers
    });
    const c = new AgentTier({ apiUrl: server.url, timeoutMs: 100, env: {} });
    const err = await c.getSandbox('slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/timed out after 100ms/);
  });

  it('encodes names and passes an explicit namespace on per-sandbox calls', async () => {
    server.route('GET /api/v1/sandboxes/demo', (req, res) => {
      expect(req.query.get('namespace')).toBe('team');
      sendJson(res, 200, sandboxView('demo'));
    });
    server.route('POST /api/v1/sandboxes/demo/stop', (req, res) => {
      expect(req.query.get('namespace')).toBe('team');
      sendJson(res, 200, { status: 'stopping' });
    });
    const sb = await client.getSandbox('demo', { namespace: 'team' });
    await sb.stop();
  });
});

describe('merge-patch update and the agent config', () => {
  it('sends null for a label to remove (JSON merge patch) and reads the agent configuration', async () => {
    server.route('PATCH /api/v1/sandboxes/demo', (_req, res) => sendJson(res, 200, { sandboxId: 'demo' }));
    server.route('GET /api/v1/sandboxes/demo/agent/config', (_req, res) =>
      sendJson(res, 200, {
        configured: true,
        entrypoint: ['python3', 'a.py'],
        installCommand: [],
        files: [{ path: '/workspace/a.py', sizeBytes: 3 }],
        envNames: ['API_TOKEN'],
      }),
    );
    const sb = client.sandbox('demo');
    await sb.update({ labels: { stale: null, team: 'ml' } });
    expect(server.requests.at(-1)!.json()).toEqual({ labels: { stale: null, team: 'ml' } });
    const cfg = await sb.agent.config();
    expect(cfg).toMatchObject({ configured: true, entrypoint: ['python3', 'a.py'], envNames: ['API_TOKEN'] });
    expect(server.requests.at(-1)!.path).toBe('/api/v1/sandboxes/demo/agent/config');
  });
});

describe('waiting', () => {
  function phases(name: string, seq: Array<string | 404>, extra: Record<string, unknown> = {}) {
    let i = 0;
    server.route(`GET /api/v1/sandboxes/${name}`, (_req, res) => {
      const next = seq[Math.min(i++, seq.length - 1)];
      if (next === 404) sendJson(res, 404, { error: 'not found', code: 'SANDBOX_NOT_FOUND' });
      else sendJson(res, 200, sandboxView(name, next ?? 'Creating', extra));
    });
  }

  it('waits until Running and reports each phase once', async () => {
    phases('w', ['Creating', 'Creating', 'Running']);
    const seen: string[] = [];
    const sb = await client
      .sandbox('w')
      .waitUntilRunning({ pollIntervalMs: 10, onPhase: (p) => seen.push(p) });
    expect(sb.status).toBe('Running');
    expect(seen).toEqual(['Creating', 'Running']);
  });

  it('throws SandboxErrorStateError with the server message', async () => {
    phases('e', ['Creating', 'Error'], { message: 'image pull failed: nope:latest' });
    const err = await client
      .sandbox('e')
      .waitUntilRunning({ pollIntervalMs: 10 })
      .catch((x: unknown) => x);
    expect(err).toBeInstanceOf(SandboxErrorStateError);
    expect((err as Error).message).toContain('image pull failed: nope:latest');
  });

  it('times out with the last phase in the message', async () => {
    phases('t', ['Creating']);
    const err = await client
      .sandbox('t')
      .waitUntilRunning({ timeoutMs: 80, pollIntervalMs: 20 })
      .catch((x: unknown) => x);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toContain('last phase: Creating');
  });

  it('waits until stopped and until deleted', async () => {
    phases('s', ['Running', 'Stopped']);
    await client.sandbox('s').waitUntilStopped({ pollIntervalMs: 10 });
    phases('d', ['Deleting', 'Deleting', 404]);
    const seen: string[] = [];
    await client.sandbox('d').waitUntilDeleted({ pollIntervalMs: 10, onPhase: (p) => seen.push(p) });
    expect(seen).toEqual(['Deleting', 'Deleted']);
  });

  it('stops waiting when the signal aborts', async () => {
    phases('a', ['Creating']);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user gave up')), 60);
    await expect(
      client.sandbox('a').waitUntilRunning({ pollIntervalMs: 20, signal: ac.signal }),
    ).rejects.toThrow('user gave up');
  });
});

describe('exec', () => {
  it('sends argv arrays and shell strings with options', async () => {
    server.route('POST /api/v1/sandboxes/x/exec', (req, res) => {
      const body = req.json<{ command: unknown }>();
      sendJson(res, 200, { stdout: JSON.stringify(body), stderr: '', exitCode: 3 });
    });
    const sb = client.sandbox('x');
    const r1 = await sb.exec(['ls', '-la']);
    expect(JSON.parse(r1.stdout)).toEqual({ command: ['ls', '-la'] });
    expect(r1.exitCode).toBe(3);
    const r2 = await sb.exec('echo $A | wc', { timeoutSec: 5, env: { A: '1' }, cwd: '/tmp', stdin: 'in' });
    expect(JSON.parse(r2.stdout)).toEqual({
      command: 'echo $A | wc',
      timeout: 5,
      env: { A: '1' },
      cwd: '/tmp',
      stdin: 'in',
    });
    await expect(sb.exec([])).rejects.toThrow(TypeError);
  });

  it('streams output events over SSE split into awkward chunks', async () => {
    server.route('POST /api/v1/sandboxes/x/exec/stream', async (req, res) => {
      expect(req.headers.accept).toBe('text/event-stream');
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const text =
        'event: start\r\ndata: {"pid":1}\r\n\r\n: keepalive\n\nevent: stdout\ndata: {"data":"hel"}\n\n' +
        'event: stdout\ndata: {"data":"lo\\n"}\n\nevent: stderr\ndata: {"data":"warn"}\n\n' +
        'event: exit\ndata: {"exitCode":2,"signal":null,"durationMs":12}\n\n';
      for (let i = 0; i < text.length; i += 7) {
        res.write(text.slice(i, i + 7));
        // Pacing, not a wait for anything: the chunks tend to reach the client apart. Every split
        // point is covered deterministically by contract's sse.test.ts.
        await new Promise((r) => setTimeout(r, 1));
      }
      res.end();
    });
    const events = [];
    for await (const ev of client.sandbox('x').execStream(['sh', '-c', 'x'])) events.push(ev);
    expect(events).toEqual([
      { type: 'start', pid: 1 },
      { type: 'stdout', data: 'hel' },
      { type: 'stdout', data: 'lo\n' },
      { type: 'stderr', data: 'warn' },
      { type: 'exit', exitCode: 2, signal: null, durationMs: 12 },
    ]);
  });

  it('maps pre-stream errors and a missing exit event', async () => {
    server.route('POST /api/v1/sandboxes/x/exec/stream', (_req, res) =>
      sendJson(res, 409, { error: 'sandbox is not running', code: 'SANDBOX_NOT_RUNNING' }),
    );
    server.route('POST /api/v1/sandboxes/y/exec/stream', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end('event: stdout\ndata: {"data":"x"}\n\n');
    });
    const drain = async (name: string) => {
      for await (const _ of client.sandbox(name).execStream('true')) {
        // drain
      }
    };
    await expect(drain('x')).rejects.toBeInstanceOf(ConflictError);
    await expect(drain('y')).rejects.toBeInstanceOf(ConnectionError);
  });
});

describe('files', () => {
  it('lists with the trailing-slash route and fills paths', async () => {
    server.route('GET /api/v1/sandboxes/x/files/', (req, res) => {
      expect(req.query.get('path')).toBe('/workspace/src');
      sendJson(res, 200, {
        path: '/workspace/src',
        entries: [
          {
            name: 'a.txt',
            path: '/workspace/src/a.txt',
            size: 1,
            isDir: false,
            mode: '-rw-r--r--',
            modifiedAt: 1,
          },
        ],
      });
    });
    const entries = await client.sandbox('x').files.list('src');
    expect(entries.map((e) => e.path)).toEqual(['/workspace/src/a.txt']);
  });

  it('stats, makes directories, renames, removes and watches through the fs routes', async () => {
    const entry = (path: string, isDir = false) => ({
      name: path.split('/').pop(),
      path,
      size: isDir ? 0 : 5,
      isDir,
      mode: isDir ? 'drwxr-xr-x' : '-rw-r--r--',
      modifiedAt: 1,
    });
    const bodies: unknown[] = [];
    server.route('GET /api/v1/sandboxes/x/fs/stat', (req, res) => {
      const path = req.query.get('path')!;
      if (path === '/workspace/nope') sendJson(res, 404, { error: 'no such file', code: 'FILE_NOT_FOUND' });
      else sendJson(res, 200, entry(path));
    });
    server.route('POST /api/v1/sandboxes/x/fs/mkdir', (req, res) => {
      bodies.push(JSON.parse(req.body.toString()));
      sendJson(res, 201, entry('/workspace/a/b', true));
    });
    server.route('POST /api/v1/sandboxes/x/fs/rename', (req, res) => {
      bodies.push(JSON.parse(req.body.toString()));
      sendJson(res, 200, entry('/workspace/final.md'));
    });
    server.route('DELETE /api/v1/sandboxes/x/files/workspace/build', (req, res) => {
      bodies.push(req.query.get('recursive'));
      res.writeHead(204).end();
    });
    server.route('GET /api/v1/sandboxes/x/fs/watch', (_req, res) => {
      const sse = openSse(res);
      sse.send('ready', { path: '/workspace', recursive: true });
      sse.send('change', { type: 'created', path: '/workspace/new.txt' });
      sse.send('change', { type: 'deleted', path: '/workspace/old.txt' });
      sse.end();
    });
    const files = client.sandbox('x').files;
    expect(await files.stat('notes.txt')).toMatchObject({ path: '/workspace/notes.txt', isDir: false });
    await expect(files.stat('/workspace/nope')).rejects.toBeInstanceOf(NotFoundError);
    expect((await files.mkdir('a/b', { parents: true })).isDir).toBe(true);
    expect((await files.rename('draft.md', 'final.md')).path).toBe('/workspace/final.md');
    await files.remove('/workspace/build', { recursive: true });
    expect(bodies).toEqual([
      { path: '/workspace/a/b', parents: true },
      { from: '/workspace/draft.md', to: '/workspace/final.md', overwrite: false },
      'true',
    ]);
    const changes = [];
    for await (const c of files.watch('/workspace')) changes.push(c);
    expect(changes).toEqual([
      { type: 'created', path: '/workspace/new.txt' },
      { type: 'deleted', path: '/workspace/old.txt' },
    ]);
  });

  it('stats via the parent directory when the sandbox runs without its daemon', async () => {
    server.route('GET /api/v1/sandboxes/x/fs/stat', (_req, res) =>
      sendJson(res, 404, { error: 'no route for GET /api/v1/sandboxes/x/fs/stat', code: 'NOT_FOUND' }),
    );
    server.route('GET /api/v1/sandboxes/x/files/', (_req, res) =>
      sendJson(res, 200, {
        path: '/workspace',
        entries: [
          { name: 'src', path: '/workspace/src', size: 0, isDir: true, mode: 'drwxr-xr-x', modifiedAt: 1 },
        ],
      }),
    );
    const files = client.sandbox('x').files;
    expect((await files.stat('/workspace/src')).isDir).toBe(true);
    await expect(files.stat('/workspace/nope')).rejects.toBeInstanceOf(NotFoundError);
    expect((await files.stat('/')).isDir).toBe(true);
  });

  it('reads, writes and encodes paths', async () => {
    const stored = new Map<string, Buffer>();
    server.route('PUT /api/v1/sandboxes/x/files/workspace/my%20dir/h%C3%A9.txt', (req, res) => {
      expect(req.headers['content-type']).toBe('application/octet-stream');
      stored.set('f', req.body);
      sendJson(res, 201, { path: '/workspace/my dir/hé.txt', bytes: req.body.length });
    });
    server.route('GET /api/v1/sandboxes/x/files/workspace/my%20dir/h%C3%A9.txt', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(stored.get('f'));
    });
    const files = client.sandbox('x').files;
    expect(await files.write('/workspace/my dir/hé.txt', 'héllo')).toEqual({
      path: '/workspace/my dir/hé.txt',
      bytes: 6,
    });
    expect(await files.readText('my dir/hé.txt')).toBe('héllo');
    expect(await files.read('/workspace/my dir/./hé.txt')).toEqual(new Uint8Array(Buffer.from('héllo')));
  });

  it('refuses oversized writes before sending them', async () => {
    const big = new Uint8Array(32 * 1024 * 1024 + 1);
    await expect(client.sandbox('x').files.write('/workspace/big', big)).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('uploads a file and streams a download to disk atomically', async () => {
    const size = 6 * 1024 * 1024 + 123;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff;
    const local = join(dir, 'in.bin');
    await writeFile(local, data);
    let received: Buffer | undefined;
    server.route('PUT /api/v1/sandboxes/x/files/workspace/in.bin', (req, res) => {
      received = req.body;
      sendJson(res, 201, { path: '/workspace/in.bin', bytes: req.body.length });
    });
    let chunksSent = 0;
    server.route('GET /api/v1/sandboxes/x/files/workspace/in.bin', async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      for (let off = 0; off < size; off += 256 * 1024) {
        res.write(received?.subarray(off, off + 256 * 1024));
        chunksSent++;
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
    const files = client.sandbox('x').files;
    expect(await files.upload(local, '/workspace/in.bin')).toEqual({
      path: '/workspace/in.bin',
      bytes: size,
    });
    const out = join(dir, 'out.bin');
    expect(await files.download('/workspace/in.bin', out)).toEqual({ path: out, bytes: size });
    expect(chunksSent).toBeGreaterThan(20);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(await readFile(out))).toBe(sha(data));
    expect((await readdir(dir)).sort()).toEqual(['in.bin', 'out.bin']);
  });

  it('leaves no partial file when a download is aborted or fails', async () => {
    const ac = new AbortController();
    server.route('GET /api/v1/sandboxes/x/files/workspace/slow', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      // Aborted once the first bytes are on their way (the file has been started).
      res.write(Buffer.alloc(1024), () => ac.abort());
    });
    server.route('GET /api/v1/sandboxes/x/files/workspace/missing', (_req, res) =>
      sendJson(res, 404, { error: 'file not found: /workspace/missing', code: 'FILE_NOT_FOUND' }),
    );
    const pending = client
      .sandbox('x')
      .files.download('/workspace/slow', join(dir, 'slow'), { signal: ac.signal });
    await expect(pending).rejects.toThrow();
    await expect(
      client.sandbox('x').files.download('/workspace/missing', join(dir, 'm')),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('downloads an archive', async () => {
    server.route('GET /api/v1/sandboxes/x/archive', (req, res) => {
      expect(req.query.get('path')).toBe('/workspace/src');
      res.writeHead(200, { 'Content-Type': 'application/zip' });
      res.end(Buffer.from('PK fake'));
    });
    const zip = join(dir, 'src.zip');
    expect(await client.sandbox('x').files.archive('/workspace/src', zip)).toEqual({ path: zip, bytes: 7 });
  });
});

describe('templates', () => {
  const spec = { image: { repository: 'python:3.12' }, mode: 'code' as const };

  it('lists, gets and deletes', async () => {
    server.route('GET /api/v1/templates', (_req, res) => sendJson(res, 200, { templates: null }));
    server.route('GET /api/v1/templates/py', (_req, res) => sendJson(res, 200, { name: 'py', spec }));
    server.route('DELETE /api/v1/templates/py', (_req, res) => {
      res.writeHead(204);
      res.end();
    });
    expect(await client.templates.list()).toEqual([]);
    expect((await client.templates.get('py')).name).toBe('py');
    await client.templates.delete('py');
  });

  it('applies: PUT updates, 404 falls back to POST', async () => {
    let exists = false;
    server.route('PUT /api/v1/templates/py', (req, res) => {
      if (!exists) return sendJson(res, 404, { error: 'template not found', code: 'TEMPLATE_NOT_FOUND' });
      sendJson(res, 200, { name: 'py', ...req.json<Record<string, unknown>>() });
    });
    server.route('POST /api/v1/templates', (req, res) => {
      exists = true;
      sendJson(res, 201, { name: 'py', ...req.json<Record<string, unknown>>() });
    });
    expect((await client.templates.apply({ name: 'py', spec })).action).toBe('created');
    expect(server.requests[1]?.json()).toEqual({ name: 'py', spec });
    expect((await client.templates.apply({ name: 'py', spec })).action).toBe('updated');
  });
});

describe('namespaces', () => {
  it('handles from a cross-namespace list address their own namespace', async () => {
    server.route('GET /api/v1/sandboxes', (_req, res) =>
      sendJson(res, 200, { sandboxes: [sandboxView('a', 'Running', { namespace: 'team' })] }),
    );
    server.route('POST /api/v1/sandboxes/a/stop', (req, res) => {
      expect(req.query.get('namespace')).toBe('team');
      sendJson(res, 200, { status: 'stopping' });
    });
    const [a] = await client.listSandboxes();
    await a?.stop();
    expect(server.requests).toHaveLength(2);
  });
});
