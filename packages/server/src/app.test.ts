import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import tar from 'tar-stream';
import type { Sandbox, SandboxPhase } from '@agenttier/contract';
import {
  ERROR_STATUS,
  MAX_FILE_BYTES,
  PlatformError,
  SANDBOX_FINALIZER,
  isErrorCode,
} from '@agenttier/contract';
import type { DataPlane, ExecOutcome, ExecSpec, FileInfo } from '@agenttier/core';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { SqliteStore } from '@agenttier/platform-local';
import { createApp } from './app.ts';

/**
 * The REST API in-process (`app.inject()`, no socket) on the real SQLite store in memory and a fake,
 * in-memory data plane. No controller runs: tests set phases the way the controller would.
 */

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** A DataPlane whose files live in a Map and whose exec echoes what it was asked to run. */
class FakeDataPlane implements DataPlane {
  readonly kind = 'engine' as const;
  readonly files = new Map<string, Buffer>();
  readonly execs: ExecSpec[] = [];
  execResult: Partial<ExecOutcome> | Error = {};

  async exec(_sb: Sandbox, spec: ExecSpec): Promise<ExecOutcome> {
    this.execs.push(spec);
    if (this.execResult instanceof Error) throw this.execResult;
    return {
      stdout: `ran ${spec.argv.join(' ')}\n`,
      stderr: '',
      exitCode: 0,
      durationMs: 3,
      timedOut: false,
      truncated: false,
      ...this.execResult,
    };
  }

  async stat(_sb: Sandbox, path: string): Promise<FileInfo> {
    const f = this.files.get(path);
    if (!f) throw new PlatformError('FILE_NOT_FOUND', `path not found: ${path}`);
    return {
      name: path.split('/').pop()!,
      path,
      size: f.length,
      isDir: false,
      mode: '-rw-r--r--',
      modifiedAt: 0,
    };
  }

  async list(_sb: Sandbox, path: string): Promise<FileInfo[]> {
    return [...this.files.entries()]
      .filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/'))
      .map(([p, b]) => ({
        name: p.slice(path.length + 1),
        path: p,
        size: b.length,
        isDir: false,
        mode: '-rw-r--r--',
        modifiedAt: 1_700_000_000,
      }));
  }

  async read(_sb: Sandbox, path: string, maxBytes: number) {
    const f = this.files.get(path);
    if (!f) throw new PlatformError('FILE_NOT_FOUND', `file not found: ${path}`);
    if (f.length > maxBytes)
      throw new PlatformError('PAYLOAD_TOO_LARGE', `file is ${f.length} bytes, max ${maxBytes}`);
    return {
      size: f.length,
      body: (async function* () {
        yield new Uint8Array(f);
      })(),
    };
  }

  async write(_sb: Sandbox, path: string, body: Uint8Array) {
    this.files.set(path, Buffer.from(body));
    return { bytes: body.length };
  }

  async archiveTar(_sb: Sandbox, path: string): Promise<AsyncIterable<Uint8Array>> {
    const pack = tar.pack();
    const top = path.split('/').pop()!;
    for (const [p, b] of this.files) {
      if (p.startsWith(`${path}/`)) pack.entry({ name: `${top}/${p.slice(path.length + 1)}` }, b);
    }
    pack.finalize();
    return pack as unknown as AsyncIterable<Uint8Array>;
  }
}

let store: SqliteStore;
let plane: FakeDataPlane;
let app: FastifyInstance;
let nudged: string[];
let readinessError: Error | undefined;

async function seed() {
  for (const t of BUILTIN_TEMPLATES) await store.create(structuredClone(t));
}

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:' });
  await seed();
  plane = new FakeDataPlane();
  nudged = [];
  readinessError = undefined;
  app = createApp({
    store,
    dataPlaneFor: async () => plane,
    logger: pino({ level: 'silent' }),
    enqueue: (ns, name) => nudged.push(`${ns}/${name}`),
    readinessChecks: [
      async () => {
        if (readinessError) throw readinessError;
      },
    ],
  });
  await app.ready();
});

afterEach(async () => {
  await app.close();
  await store.close();
});

const json = (r: LightMyRequestResponse) => r.json() as Record<string, unknown> & { details?: unknown[] };

/** Asserts the uniform error body and status, and returns the body. */
function expectError(r: LightMyRequestResponse, status: number, code: keyof typeof ERROR_STATUS) {
  expect(r.statusCode, r.body).toBe(status);
  expect(ERROR_STATUS[code]).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const body = json(r);
  expect(body).toMatchObject({ code, error: expect.any(String), message: expect.any(String) });
  expect(body.error).toBe(body.message);
  expect(body.requestId).toBe(r.headers['x-request-id']);
  expect(body.requestId).toMatch(/^[A-Za-z0-9._-]+$/);
  return body;
}

const post = (url: string, payload?: unknown) =>
  app.inject({ method: 'POST', url, ...(payload !== undefined ? { payload: payload as object } : {}) });

async function create(name: string, extra: Record<string, unknown> = {}) {
  const r = await post('/api/v1/sandboxes', { name, templateRef: { name: 'minimal-shell' }, ...extra });
  expect(r.statusCode, r.body).toBe(201);
  return json(r);
}

/** Moves a sandbox to a phase the way the controller would (and a desired state for Stopped). */
async function setPhase(name: string, phase: SandboxPhase, ns = 'default') {
  let sb = (await store.get<Sandbox>('Sandbox', { namespace: ns, name }))!;
  if (phase === 'Stopped')
    sb = await store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Stopped' } });
  return store.updateStatus<Sandbox>({
    ...sb,
    status: {
      ...sb.status,
      phase,
      reason: phase === 'Running' ? 'Ready' : phase,
      ...(phase === 'Running' ? { startedAt: '2026-03-01T12:00:00Z' } : {}),
    },
  });
}

async function running(name: string, extra: Record<string, unknown> = {}) {
  await create(name, extra);
  await setPhase(name, 'Running');
}

describe('conventions', () => {
  it('echoes a valid X-Request-ID on success and in error bodies', async () => {
    const ok = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'trace-123.abc_D' },
    });
    expect(ok.headers['x-request-id']).toBe('trace-123.abc_D');
    const err = await app.inject({
      method: 'GET',
      url: '/api/v1/sandboxes/nope',
      headers: { 'x-request-id': 'trace-456' },
    });
    expect(expectError(err, 404, 'SANDBOX_NOT_FOUND').requestId).toBe('trace-456');
  });

  it('replaces an unusable X-Request-ID with a generated one', async () => {
    for (const bad of ['has space', 'a'.repeat(129), 'semi;colon', '']) {
      const r = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': bad } });
      expect(r.headers['x-request-id']).toMatch(/^[0-9a-f]{16}$/);
    }
    const none = await app.inject({ method: 'GET', url: '/healthz' });
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers an unknown route with 404 NOT_FOUND naming the method and path', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/nothing'],
      ['GET', '/api/v2/sandboxes'],
      ['DELETE', '/api/v1/sandboxes'],
      ['PATCH', '/healthz'],
      ['GET', '/'],
    ] as const) {
      const r = await app.inject({ method, url: `${url}?x=1` });
      const body = expectError(r, 404, 'NOT_FOUND');
      expect(body.message).toBe(`no route for ${method} ${url}; see docs/api.md`);
    }
  });

  it('answers a malformed URL escape with 400 BAD_REQUEST in the uniform body', async () => {
    // Fastify answers these before routing, outside setErrorHandler, unless `frameworkErrors` is set.
    const r = await app.inject({ method: 'GET', url: '/api/v1/sandboxes/%E0%A4%A' });
    expectError(r, 400, 'BAD_REQUEST');
  });

  it('answers an over-long path parameter with a catalogue error in the uniform body', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/v1/sandboxes/${'a'.repeat(5000)}` });
    expect(r.statusCode).toBeGreaterThanOrEqual(400);
    expect(r.statusCode).toBeLessThan(500);
    const body = json(r);
    expect(isErrorCode(body.code), r.body.slice(0, 120)).toBe(true);
    expect(body.requestId).toBe(r.headers['x-request-id']);
  });

  it('serves /healthz, /readyz (503 when a check fails) and /metrics', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).body).toBe('ok');
    expect((await app.inject({ method: 'GET', url: '/readyz' })).body).toBe('ok');
    readinessError = new Error('engine down');
    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.body).toBe('not ready: engine down');
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(
      /agenttier_http_requests_total\{method="GET",route="\/readyz",status="503"\} 1/,
    );
  });

  it('lists are [] when empty, never null', async () => {
    const sandboxes = await app.inject({ method: 'GET', url: '/api/v1/sandboxes' });
    expect(json(sandboxes)).toEqual({ sandboxes: [] });
    await running('lists');
    const files = await app.inject({ method: 'GET', url: '/api/v1/sandboxes/lists/files/' });
    expect(json(files)).toEqual({ path: '/workspace', entries: [] });
    await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/lists' });
    for (const t of BUILTIN_TEMPLATES)
      await store.delete('ClusterSandboxTemplate', { name: t.metadata.name });
    const templates = await app.inject({ method: 'GET', url: '/api/v1/templates' });
    expect(json(templates)).toEqual({ templates: [] });
  });

  it('gives a new sandbox [] conditions, {} labels and RFC 3339 times', async () => {
    const created = await create('fresh');
    expect(created).toMatchObject({ labels: {}, conditions: [] });
    expect(created.createdAt).toMatch(RFC3339);
    await setPhase('fresh', 'Running');
    const got = json(await app.inject({ method: 'GET', url: '/api/v1/sandboxes/fresh' }));
    expect(got.startedAt).toMatch(RFC3339);
    const template = json(await app.inject({ method: 'GET', url: '/api/v1/templates/minimal-shell' }));
    expect(template.createdAt).toMatch(RFC3339);
  });
});

describe('request bodies', () => {
  it('refuses malformed JSON with 400 INVALID_JSON', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "x",',
    });
    expect(expectError(r, 400, 'INVALID_JSON').message).toMatch(/^request body is not valid JSON/);
  });

  it('takes an empty body declared as JSON as no body: create then needs its fields (400 VALIDATION_FAILED)', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expectError(r, 400, 'VALIDATION_FAILED');
  });

  it('refuses a body of another media type with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { 'content-type': 'application/xml' },
      payload: '<sandbox/>',
    });
    expectError(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a JSON body over the JSON limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const small = createApp({
      store,
      dataPlaneFor: async () => plane,
      logger: pino({ level: 'silent' }),
      jsonBodyLimitBytes: 1024,
    });
    const r = await small.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      payload: { name: 'big', templateRef: { name: 'minimal-shell' }, labels: { pad: 'x'.repeat(2048) } },
    });
    expectError(r, 413, 'PAYLOAD_TOO_LARGE');
    await small.close();
  });
});

describe('POST /api/v1/sandboxes', () => {
  it('creates: 201 with the flat view, mode from the template, and nudges the controller', async () => {
    const r = await post('/api/v1/sandboxes', {
      name: 'demo',
      namespace: 'default',
      templateRef: { name: 'langgraph-agent', kind: 'ClusterSandboxTemplate' },
      timeout: '8h',
      idleTimeout: '30m',
      storage: { size: '10Gi' },
    });
    expect(r.statusCode).toBe(201);
    expect(json(r)).toMatchObject({
      sandboxId: 'demo',
      name: 'demo',
      namespace: 'default',
      status: 'Creating',
      phase: 'Creating',
      desiredState: 'Running',
      mode: 'agent',
      templateRef: 'langgraph-agent',
      podName: 'agenttier-default-demo',
      pvcName: 'agenttier-default-demo-workspace',
      timeout: '8h',
      idleTimeout: '30m',
      createdBy: { sub: 'dev-user' },
    });
    expect(json(r).uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(nudged).toEqual(['default/demo']);
  });

  it('accepts the `template` shorthand and a namespace from the query', async () => {
    const r = await post('/api/v1/sandboxes?namespace=team-a', { name: 'short', template: 'minimal-shell' });
    expect(r.statusCode).toBe(201);
    expect(json(r)).toMatchObject({ namespace: 'team-a', templateRef: 'minimal-shell' });
  });

  it.each([
    ['uppercase', 'MySandbox'],
    ['too long', 'a'.repeat(54)],
    ['a leading dash', '-abc'],
    ['an underscore', 'my_box'],
    ['empty', ''],
    ['a number', 42],
  ])('refuses a name with %s: 400 VALIDATION_FAILED naming `name`', async (_why, name) => {
    const r = await post('/api/v1/sandboxes', { name, templateRef: { name: 'minimal-shell' } });
    const body = expectError(r, 400, 'VALIDATION_FAILED');
    const details = body.details as Array<{ field: string; rule: string; message: string }>;
    expect(details.length).toBeGreaterThan(0);
    for (const d of details)
      expect(d).toEqual({ field: 'name', rule: expect.any(String), message: expect.any(String) });
  });

  it('refuses a missing name and a missing body', async () => {
    expect(
      expectError(await post('/api/v1/sandboxes', { template: 'minimal-shell' }), 400, 'VALIDATION_FAILED')
        .details,
    ).toEqual([expect.objectContaining({ field: 'name' })]);
    expect(expectError(await post('/api/v1/sandboxes'), 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'name' }),
    ]);
  });

  it('refuses a missing template reference, naming templateRef.name', async () => {
    const body = expectError(await post('/api/v1/sandboxes', { name: 'x' }), 400, 'VALIDATION_FAILED');
    expect(body.details).toEqual([{ field: 'templateRef.name', rule: 'required', message: 'is required' }]);
  });

  it('refuses an unknown template with 422 UNPROCESSABLE naming templateRef.name', async () => {
    const r = await post('/api/v1/sandboxes', { name: 'x', templateRef: { name: 'no-such-template' } });
    const body = expectError(r, 422, 'UNPROCESSABLE');
    expect(body.message).toMatch(/"no-such-template" not found/);
    expect(body.details).toEqual([{ field: 'templateRef.name', rule: 'exists', message: body.message }]);
    expect(json(await app.inject({ method: 'GET', url: '/api/v1/sandboxes' }))).toEqual({ sandboxes: [] });
  });

  it('refuses a template whose inheritance has a cycle with 422', async () => {
    await app.inject({
      method: 'PUT',
      url: '/api/v1/templates/loop-a',
      payload: { spec: { inheritsFrom: { name: 'loop-b' } } },
    });
    await app.inject({
      method: 'PUT',
      url: '/api/v1/templates/loop-b',
      payload: { spec: { inheritsFrom: { name: 'loop-a' } } },
    });
    const r = await post('/api/v1/sandboxes', { name: 'x', templateRef: { name: 'loop-a' } });
    expect(expectError(r, 422, 'UNPROCESSABLE').message).toMatch(/cycle/);
  });

  it('refuses an unknown templateRef kind with 400 naming templateRef.kind', async () => {
    const r = await post('/api/v1/sandboxes', {
      name: 'x',
      templateRef: { name: 'minimal-shell', kind: 'Template' },
    });
    expect(expectError(r, 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'templateRef.kind', rule: 'invalid_value' }),
    ]);
  });

  it('refuses a duplicate name in the same namespace with 409 ALREADY_EXISTS, not 500', async () => {
    await create('twin');
    const r = await post('/api/v1/sandboxes', { name: 'twin', templateRef: { name: 'general-coding' } });
    expect(expectError(r, 409, 'ALREADY_EXISTS').message).toMatch(/"twin" already exists/);
    expect(
      (await post('/api/v1/sandboxes?namespace=other', { name: 'twin', template: 'minimal-shell' }))
        .statusCode,
    ).toBe(201);
  });

  it.each([
    ['a negative timeout', { timeout: '-5m' }, 'timeout'],
    ['a malformed timeout', { timeout: '5 minutes' }, 'timeout'],
    ['a unitless timeout', { timeout: '300' }, 'timeout'],
    ['a numeric timeout', { timeout: 300 }, 'timeout'],
    ['a negative idleTimeout', { idleTimeout: '-1h' }, 'idleTimeout'],
    ['a malformed idleTimeout', { idleTimeout: 'soon' }, 'idleTimeout'],
  ])('refuses %s with 400 naming the field', async (_why, extra, field) => {
    const r = await post('/api/v1/sandboxes', {
      name: 'x',
      templateRef: { name: 'minimal-shell' },
      ...extra,
    });
    const body = expectError(r, 400, 'VALIDATION_FAILED');
    expect(body.details).toEqual([expect.objectContaining({ field })]);
    expect(body.message).toContain(field);
  });

  it('refuses a bad namespace query with 400 VALIDATION_FAILED naming `namespace` (as a create body does)', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/sandboxes/x?namespace=Bad_NS' });
    expect(expectError(r, 400, 'VALIDATION_FAILED').details).toMatchObject([{ field: 'namespace' }]);
  });
});

describe('GET /api/v1/sandboxes', () => {
  it('filters by status and refuses an unknown status', async () => {
    await create('a');
    await running('b');
    const runningOnly = json(await app.inject({ method: 'GET', url: '/api/v1/sandboxes?status=Running' }));
    expect((runningOnly.sandboxes as Array<{ name: string }>).map((s) => s.name)).toEqual(['b']);
    expectError(
      await app.inject({ method: 'GET', url: '/api/v1/sandboxes?status=running' }),
      400,
      'BAD_REQUEST',
    );
  });

  it('filters by namespace', async () => {
    await create('a');
    await post('/api/v1/sandboxes?namespace=team', { name: 'b', template: 'minimal-shell' });
    const team = json(await app.inject({ method: 'GET', url: '/api/v1/sandboxes?namespace=team' }));
    expect((team.sandboxes as Array<{ name: string }>).map((s) => s.name)).toEqual(['b']);
    const all = json(await app.inject({ method: 'GET', url: '/api/v1/sandboxes' }));
    expect(all.sandboxes).toHaveLength(2);
  });

  it('answers 404 SANDBOX_NOT_FOUND for an unknown sandbox', async () => {
    expectError(
      await app.inject({ method: 'GET', url: '/api/v1/sandboxes/ghost' }),
      404,
      'SANDBOX_NOT_FOUND',
    );
  });
});

describe('stop, resume, patch, delete', () => {
  it('stops a running sandbox once; a second stop is 409 INVALID_PHASE', async () => {
    await running('sb');
    const r = await post('/api/v1/sandboxes/sb/stop');
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({
      status: 'stopping',
      sandbox: { desiredState: 'Stopped', reason: 'Stopping' },
    });
    expect(expectError(await post('/api/v1/sandboxes/sb/stop'), 409, 'INVALID_PHASE').message).toMatch(
      /stopping/,
    );
  });

  it('refuses to stop a stopped sandbox with 409 INVALID_PHASE', async () => {
    await running('sb');
    await setPhase('sb', 'Stopped');
    expect(expectError(await post('/api/v1/sandboxes/sb/stop'), 409, 'INVALID_PHASE').message).toMatch(
      /already stopped/,
    );
  });

  it('resumes a stopped sandbox (counters reset) and refuses to resume a running one', async () => {
    await running('sb');
    expectError(await post('/api/v1/sandboxes/sb/resume'), 409, 'INVALID_PHASE');
    await setPhase('sb', 'Stopped');
    const r = await post('/api/v1/sandboxes/sb/resume');
    expect(r.statusCode).toBe(200);
    expect(json(r)).toMatchObject({
      status: 'resuming',
      sandbox: { status: 'Creating', desiredState: 'Running' },
    });
    const sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'sb' });
    expect(sb?.status).toMatchObject({ restartCount: 0, failureCount: 0, reason: 'Resuming' });
  });

  it('resumes a sandbox in Error', async () => {
    await create('sb');
    await setPhase('sb', 'Error');
    expect((await post('/api/v1/sandboxes/sb/resume')).statusCode).toBe(200);
  });

  it('answers 404 for stop/resume/delete/patch of an unknown sandbox', async () => {
    for (const [method, url] of [
      ['POST', '/api/v1/sandboxes/ghost/stop'],
      ['POST', '/api/v1/sandboxes/ghost/resume'],
      ['DELETE', '/api/v1/sandboxes/ghost'],
      ['PATCH', '/api/v1/sandboxes/ghost'],
    ] as const) {
      const r = await app.inject({
        method,
        url,
        ...(method === 'PATCH' ? { payload: { timeout: '1h' } } : {}),
      });
      expectError(r, 404, 'SANDBOX_NOT_FOUND');
    }
  });

  it('patches timeouts immediately and resources on restart; an empty patch is 400', async () => {
    await running('sb');
    const t = await app.inject({
      method: 'PATCH',
      url: '/api/v1/sandboxes/sb',
      payload: { idleTimeout: '2h' },
    });
    expect(json(t)).toMatchObject({
      sandboxId: 'sb',
      applied: { idleTimeout: 'immediately' },
      restartRequired: false,
    });
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/v1/sandboxes/sb',
      payload: { resources: { limits: { memory: '8Gi' } } },
    });
    expect(json(res)).toMatchObject({
      applied: { resources: 'on-restart' },
      restartRequired: true,
      message: expect.any(String),
    });
    expectError(
      await app.inject({ method: 'PATCH', url: '/api/v1/sandboxes/sb', payload: {} }),
      400,
      'VALIDATION_FAILED',
    );
    const bad = await app.inject({
      method: 'PATCH',
      url: '/api/v1/sandboxes/sb',
      payload: { timeout: '-5m' },
    });
    expect(expectError(bad, 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'timeout' }),
    ]);
  });

  it('deletes with 204; with the controller finalizer it shows Deleting and refuses transitions', async () => {
    await running('sb');
    const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'sb' }))!;
    await store.update<Sandbox>({ ...sb, metadata: { ...sb.metadata, finalizers: [SANDBOX_FINALIZER] } });
    const del = await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/sb' });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect(json(await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb' }))).toMatchObject({
      status: 'Deleting',
    });
    expect(expectError(await post('/api/v1/sandboxes/sb/stop'), 409, 'INVALID_PHASE').message).toMatch(
      /being deleted/,
    );
    expectError(await post('/api/v1/sandboxes/sb/exec', { command: 'ls' }), 409, 'SANDBOX_NOT_RUNNING');
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/sb' })).statusCode).toBe(204); // idempotent
  });

  it('deletes a sandbox without finalizer at once', async () => {
    await create('sb');
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/sb' })).statusCode).toBe(204);
    expectError(await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb' }), 404, 'SANDBOX_NOT_FOUND');
  });
});

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
    expect(plane.execs[0]).toMatchObject({ argv: ['/bin/sh', '-c', 'echo hi'], timeoutMs: 30_000 });
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
    expect(plane.execs[0]).toMatchObject({
      argv: ['python3', '-c', 'print(1)'],
      timeoutMs: 5000,
      env: { A: '1' },
      cwd: '/workspace',
    });
    expect(Buffer.from(plane.execs[0]!.stdin!).toString()).toBe('in');
  });

  it('reports a non-zero exit with 200', async () => {
    await running('sb');
    plane.execResult = { exitCode: 3, stderr: 'oops\n' };
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
      expect(plane.execs).toEqual([]);
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
    plane.execResult = new Error('secret socket path /run/agenttier/xyz');
    const body = expectError(await post('/api/v1/sandboxes/sb/exec', { command: 'ls' }), 500, 'INTERNAL');
    expect(body.message).not.toContain('secret');
    expect(body.message).toContain(String(body.requestId));
  });

  it('passes a PlatformError from the data plane through with its status', async () => {
    await running('sb');
    plane.execResult = new PlatformError('TIMEOUT', 'exec timed out');
    expectError(await post('/api/v1/sandboxes/sb/exec', { command: 'ls' }), 504, 'TIMEOUT');
  });
});

describe('files', () => {
  const put = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    app.inject({
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
    const asJson = await app.inject({
      method: 'PUT',
      url: '/api/v1/sandboxes/sb/files/tmp/data.json',
      headers: { 'content-type': 'application/json' },
      payload: '{not json either',
    });
    expect(asJson.statusCode).toBe(201); // file bodies are bytes, never parsed

    const r = await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/workspace/notes.txt' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('keep me\n');
    expect(r.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'content-length': '8',
      'content-disposition': 'attachment; filename="notes.txt"',
      'x-content-type-options': 'nosniff',
    });
    const list = json(
      await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/?path=/workspace' }),
    );
    expect(list).toEqual({
      path: '/workspace',
      entries: [expect.objectContaining({ name: 'notes.txt', size: 8, isDir: false })],
    });
  });

  it('takes uploads without a content type or form-encoded, as curl sends them', async () => {
    await running('sb');
    const bare = await app.inject({
      method: 'PUT',
      url: '/api/v1/sandboxes/sb/files/workspace/a',
      payload: 'aa',
    });
    expect(bare.statusCode, bare.body).toBe(201);
    const form = await put('/api/v1/sandboxes/sb/files/workspace/b', 'x=1&y=2', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.statusCode, form.body).toBe(201);
    expect(plane.files.get('/workspace/b')?.toString()).toBe('x=1&y=2');
  });

  it('answers 404 FILE_NOT_FOUND for a missing file', async () => {
    await running('sb');
    expectError(
      await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/workspace/nope' }),
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
    expect(plane.files.has('/workspace/huge.bin')).toBe(false);
  });

  it('refuses a download over 32 MiB with 413 (the cap is passed to the data plane)', async () => {
    await running('sb');
    plane.files.set('/workspace/huge.bin', Buffer.alloc(MAX_FILE_BYTES + 1));
    expectError(
      await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/workspace/huge.bin' }),
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
    expectError(await app.inject({ method: 'GET', url }), 400, 'BAD_REQUEST');
  });

  it('refuses ".." and control characters in upload paths too', async () => {
    await running('sb');
    expectError(
      await put('/api/v1/sandboxes/sb/files/workspace/..%2F..%2Fetc%2Fcron.d%2Fx', 'x'),
      400,
      'BAD_REQUEST',
    );
    expectError(await put('/api/v1/sandboxes/sb/files/workspace/a%0Ab', 'x'), 400, 'BAD_REQUEST');
    expect(plane.files.size).toBe(0);
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
    const body = expectError(await app.inject({ method: 'GET', url }), 403, 'FORBIDDEN');
    expect(body.message).toMatch(/outside the sandbox's file roots \(\/workspace, \/tmp\)/);
  });

  it('refuses an upload outside the roots with 403 and writing onto a root with 400', async () => {
    await running('sb');
    expectError(await put('/api/v1/sandboxes/sb/files/etc/profile', 'x'), 403, 'FORBIDDEN');
    expectError(await put('/api/v1/sandboxes/sb/files/workspace', 'x'), 400, 'BAD_REQUEST');
    expectError(await put('/api/v1/sandboxes/sb/files/', 'x'), 400, 'BAD_REQUEST');
    expect(plane.files.size).toBe(0);
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
    expect(json(await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/' })).path).toBe('/data');
  });

  it('refuses file access on a stopped sandbox with 409 SANDBOX_NOT_RUNNING', async () => {
    await create('sb');
    await setPhase('sb', 'Stopped');
    expectError(await put('/api/v1/sandboxes/sb/files/workspace/x', 'x'), 409, 'SANDBOX_NOT_RUNNING');
    expectError(
      await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/files/' }),
      409,
      'SANDBOX_NOT_RUNNING',
    );
    expectError(
      await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/archive' }),
      409,
      'SANDBOX_NOT_RUNNING',
    );
  });

  it('streams a zip archive of /workspace', async () => {
    await running('sb');
    plane.files.set('/workspace/a.txt', Buffer.from('a'));
    const r = await app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb/archive' });
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

describe('templates', () => {
  it('lists the built-in templates with their image and mode', async () => {
    const body = json(await app.inject({ method: 'GET', url: '/api/v1/templates' }));
    expect((body.templates as Array<{ name: string }>).map((t) => t.name).sort()).toEqual(
      BUILTIN_TEMPLATES.map((t) => t.metadata.name).sort(),
    );
    expect(body.templates).toContainEqual(
      expect.objectContaining({
        name: 'langgraph-agent',
        kind: 'ClusterSandboxTemplate',
        mode: 'agent',
        labels: expect.any(Object),
      }),
    );
  });

  it('answers 404 TEMPLATE_NOT_FOUND for an unknown template', async () => {
    expectError(
      await app.inject({ method: 'GET', url: '/api/v1/templates/nope' }),
      404,
      'TEMPLATE_NOT_FOUND',
    );
    expectError(
      await app.inject({ method: 'DELETE', url: '/api/v1/templates/nope' }),
      404,
      'TEMPLATE_NOT_FOUND',
    );
  });

  it('creates with POST (409 on a duplicate) and creates or replaces with PUT (201 then 200)', async () => {
    const created = await post('/api/v1/templates', {
      name: 'mine',
      spec: { description: 'v1', mode: 'code' },
    });
    expect(created.statusCode).toBe(201);
    expect(json(created)).toMatchObject({
      name: 'mine',
      description: 'v1',
      labels: { 'agenttier.io/managed': 'true' },
    });
    expectError(await post('/api/v1/templates', { name: 'mine', spec: {} }), 409, 'ALREADY_EXISTS');
    const replaced = await app.inject({
      method: 'PUT',
      url: '/api/v1/templates/mine',
      payload: { spec: { description: 'v2' } },
    });
    expect(replaced.statusCode).toBe(200);
    expect(json(replaced).description).toBe('v2');
    const fresh = await app.inject({ method: 'PUT', url: '/api/v1/templates/other', payload: { spec: {} } });
    expect(fresh.statusCode).toBe(201);
  });

  it('validates template writes', async () => {
    expect(
      expectError(await post('/api/v1/templates', { spec: {} }), 400, 'VALIDATION_FAILED').details,
    ).toEqual([{ field: 'name', rule: 'required', message: 'is required' }]);
    expect(
      expectError(await post('/api/v1/templates', { name: 'Bad', spec: {} }), 400, 'VALIDATION_FAILED')
        .details,
    ).toEqual([expect.objectContaining({ field: 'name' })]);
    const badSpec = await app.inject({
      method: 'PUT',
      url: '/api/v1/templates/x',
      payload: { spec: { timeout: '-1s' } },
    });
    expect(expectError(badSpec, 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'spec.timeout' }),
    ]);
    const mismatch = await app.inject({
      method: 'PUT',
      url: '/api/v1/templates/x',
      payload: { name: 'y', spec: {} },
    });
    expectError(mismatch, 400, 'VALIDATION_FAILED');
  });

  it('refuses to delete a template in use with 409 TEMPLATE_IN_USE, then deletes it when unused', async () => {
    await create('user');
    const inUse = expectError(
      await app.inject({ method: 'DELETE', url: '/api/v1/templates/minimal-shell' }),
      409,
      'TEMPLATE_IN_USE',
    );
    expect(inUse.message).toMatch(/user/);
    await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/user' });
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/templates/minimal-shell' })).statusCode).toBe(
      204,
    );
  });

  it('keeps namespaced templates apart from cluster ones', async () => {
    const r = await app.inject({
      method: 'PUT',
      url: '/api/v1/templates/team-tpl?kind=SandboxTemplate&namespace=team',
      payload: { spec: { description: 'team only' } },
    });
    expect(r.statusCode).toBe(201);
    expect(json(r)).toMatchObject({ kind: 'SandboxTemplate', namespace: 'team' });
    expectError(
      await app.inject({ method: 'GET', url: '/api/v1/templates/team-tpl' }),
      404,
      'TEMPLATE_NOT_FOUND',
    );
    const listed = json(await app.inject({ method: 'GET', url: '/api/v1/templates?namespace=team' }));
    expect((listed.templates as Array<{ name: string }>).map((t) => t.name)).toContain('team-tpl');
  });
});
