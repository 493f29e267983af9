import { afterEach, beforeEach, expect } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import tar from 'tar-stream';
import type { Sandbox, SandboxPhase } from '@agenttier/contract';
import { ERROR_STATUS, PlatformError } from '@agenttier/contract';
import type { DataPlane, ExecOutcome, ExecSpec, FileInfo } from '@agenttier/core';
import type { SqliteStore } from '@agenttier/platform-local';
import { createApp } from '../app.ts';
import { seededStore } from './seeded-store.ts';

/**
 * The REST API in-process (`app.inject()`, no socket) on the real SQLite store in memory and a fake,
 * in-memory data plane, for the route tests (app.test.ts, routes/*.test.ts). No controller runs:
 * tests set phases the way the controller would.
 */

export const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** A DataPlane whose files live in a Map and whose exec echoes what it was asked to run. */
export class FakeDataPlane implements DataPlane {
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

/** What one test sees; fields are replaced before each test. */
export interface AppHarness {
  store: SqliteStore;
  plane: FakeDataPlane;
  app: FastifyInstance;
  /** Sandboxes the app asked the controller to look at (`namespace/name`). */
  nudged: string[];
  /** Set to make /readyz's check fail. */
  readinessError: Error | undefined;
}

/** A fresh app, store and data plane for each test of the calling file (registers the hooks). */
export function useAppHarness(): AppHarness {
  const h = { nudged: [] as string[], readinessError: undefined } as unknown as AppHarness;
  beforeEach(async () => {
    h.store = await seededStore();
    h.plane = new FakeDataPlane();
    h.nudged = [];
    h.readinessError = undefined;
    h.app = createApp({
      store: h.store,
      dataPlaneFor: async () => h.plane,
      logger: pino({ level: 'silent' }),
      enqueue: (ns, name) => h.nudged.push(`${ns}/${name}`),
      readinessChecks: [
        async () => {
          if (h.readinessError) throw h.readinessError;
        },
      ],
    });
    await h.app.ready();
  });
  afterEach(async () => {
    await h.app.close();
    await h.store.close();
  });
  return h;
}

export const json = (r: LightMyRequestResponse) =>
  r.json() as Record<string, unknown> & { details?: unknown[] };

/** Asserts the uniform error body and status, and returns the body. */
export function expectError(r: LightMyRequestResponse, status: number, code: keyof typeof ERROR_STATUS) {
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

/** Request and state helpers bound to a harness. */
export function appHelpers(h: AppHarness) {
  const post = (url: string, payload?: unknown) =>
    h.app.inject({ method: 'POST', url, ...(payload !== undefined ? { payload: payload as object } : {}) });

  async function create(name: string, extra: Record<string, unknown> = {}) {
    const r = await post('/api/v1/sandboxes', { name, templateRef: { name: 'minimal-shell' }, ...extra });
    expect(r.statusCode, r.body).toBe(201);
    return json(r);
  }

  /** Moves a sandbox to a phase the way the controller would (and a desired state for Stopped). */
  async function setPhase(name: string, phase: SandboxPhase, ns = 'default') {
    let sb = (await h.store.get<Sandbox>('Sandbox', { namespace: ns, name }))!;
    if (phase === 'Stopped')
      sb = await h.store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Stopped' } });
    return h.store.updateStatus<Sandbox>({
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

  return { post, create, setPhase, running };
}
