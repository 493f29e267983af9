import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import type { Sandbox } from '@agenttier/contract';
import { LIMITS, MOUNT_PATH_DENY } from '@agenttier/contract';
import type { DataPlane, ExecOutcome, ExecSpec } from '@agenttier/core';
import type { SqliteStore } from '@agenttier/platform-local';
import { createApp } from '../app.ts';
import { seededStore } from '../testing/seeded-store.ts';

/**
 * Edge validation against the one limits table (contract/src/limits.ts): every refusal is a 4xx that
 * names the field, and nothing is stored for a refused request. Real SQLite store, no engine.
 */

const execs: ExecSpec[] = [];
const plane = {
  kind: 'engine',
  async exec(_sb: Sandbox, spec: ExecSpec): Promise<ExecOutcome> {
    execs.push(spec);
    return { stdout: '', stderr: '', exitCode: 0, durationMs: 1, timedOut: false, truncated: false };
  },
} as unknown as DataPlane;

let store: SqliteStore;
let app: FastifyInstance;
const GI = 1024 ** 3;

beforeEach(async () => {
  store = await seededStore();
  app = createApp({
    store,
    dataPlaneFor: async () => plane,
    logger: pino({ level: 'silent' }),
    capacity: { cpuMillis: 2000, memoryBytes: 8 * GI },
  });
  await app.ready();
  execs.length = 0;
});

afterEach(async () => {
  await app.close();
  await store.close();
});

const send = (method: 'POST' | 'PUT' | 'PATCH' | 'GET', url: string, payload?: unknown) =>
  app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}) });

function refused(r: LightMyRequestResponse, status: number, field: string | RegExp) {
  expect(r.statusCode, r.body).toBe(status);
  const body = r.json() as { code: string; message: string; details?: Array<{ field: string }> };
  expect(body.message).toEqual(expect.any(String));
  const fields = (body.details ?? []).map((d) => d.field);
  expect(
    fields.some((f) => (typeof field === 'string' ? f === field : field.test(f))),
    JSON.stringify(body),
  ).toBe(true);
  return body;
}

const create = (extra: Record<string, unknown>) =>
  send('POST', '/api/v1/sandboxes', { name: 'sb', templateRef: { name: 'minimal-shell' }, ...extra });

async function nothingStored() {
  expect(await store.list('Sandbox')).toEqual([]);
}

describe('storage.mountPath', () => {
  it.each([
    '/',
    '/proc',
    '/proc/self',
    '/sys',
    '/dev',
    '/etc',
    '/etc/ssl',
    '/bin',
    '/usr',
    '/usr/local',
    '/lib',
    '/lib64',
    '/sbin',
    '/run',
    '/var/run',
    '/tmp',
    '/opt/agenttier',
    '/opt',
    '/var',
  ])('refuses %s (a system or platform directory)', async (mountPath) => {
    const body = refused(await create({ storage: { mountPath } }), 400, 'storage.mountPath');
    expect(body.message).toMatch(/must not be/);
    await nothingStored();
  });

  it.each(['relative', '/a/../etc', '/a/./b', '//etc', '/a//b', '/work/', '/has space', '/a/..'])(
    'refuses the unclean path %j',
    async (mountPath) => {
      refused(await create({ storage: { mountPath } }), 400, 'storage.mountPath');
      await nothingStored();
    },
  );

  it.each(['/workspace', '/home/user/work', '/var/lib/app', '/opt/app', '/srv/.cache', '/data/..x'])(
    'accepts %s',
    async (mountPath) => {
      const r = await create({ storage: { mountPath } });
      expect(r.statusCode, r.body).toBe(201);
    },
  );

  it('refuses the same paths in templates (PUT), so no sandbox can inherit them', async () => {
    for (const mountPath of MOUNT_PATH_DENY.tree) {
      const r = await send('PUT', '/api/v1/templates/bad', { spec: { storage: { mountPath } } });
      refused(r, 400, 'spec.storage.mountPath');
    }
    expect(await store.get('ClusterSandboxTemplate', { name: 'bad' })).toBeUndefined();
  });
});

describe('image references', () => {
  it.each(['a b c', 'img;rm -rf /', 'img\nname', '-flag', '$(id)'])(
    'refuses the template image %j at the edge instead of failing at container start',
    async (repository) => {
      const r = await send('PUT', '/api/v1/templates/badimg', { spec: { image: { repository } } });
      refused(r, 400, 'spec.image.repository');
      expect(await store.get('ClusterSandboxTemplate', { name: 'badimg' })).toBeUndefined();
    },
  );

  it.each(['python:3.12', 'registry.example.com:5000/team/img:v1', 'img@sha256:' + 'a'.repeat(64)])(
    'accepts %s',
    async (repository) => {
      const r = await send('PUT', '/api/v1/templates/goodimg', { spec: { image: { repository } } });
      expect(r.statusCode, r.body).toBe(201);
    },
  );
});

describe('resources', () => {
  it('refuses memory below the floor, naming the field', async () => {
    const body = refused(
      await create({ resources: { limits: { memory: '1Ki' } } }),
      400,
      'resources.limits.memory',
    );
    expect(body.message).toMatch(/at least 16Mi/);
    await nothingStored();
  });

  it('refuses CPU or memory over the machine with 422, naming the field', async () => {
    const cpu = refused(
      await create({ resources: { limits: { cpu: '1000' } } }),
      422,
      'resources.limits.cpu',
    );
    expect(cpu.message).toMatch(/more than this machine has \(2\)/);
    refused(await create({ resources: { limits: { memory: '1Ti' } } }), 422, 'resources.limits.memory');
    await nothingStored();
  });

  it('refuses a template limit over the machine when a sandbox is created from it', async () => {
    const put = await send('PUT', '/api/v1/templates/huge', {
      spec: { inheritsFrom: { name: 'minimal-shell' }, resources: { limits: { cpu: '64' } } },
    });
    expect(put.statusCode, put.body).toBe(201);
    const r = await send('POST', '/api/v1/sandboxes', { name: 'sb', templateRef: { name: 'huge' } });
    expect(refused(r, 422, 'resources.limits.cpu').message).toMatch(/template "huge"/);
    await nothingStored();
  });

  it('accepts the whole machine, and refuses a PATCH beyond it', async () => {
    expect((await create({ resources: { limits: { cpu: '2', memory: '8Gi' } } })).statusCode).toBe(201);
    const r = await send('PATCH', '/api/v1/sandboxes/sb', { resources: { limits: { memory: '9Gi' } } });
    refused(r, 422, 'resources.limits.memory');
    const sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'sb' });
    expect(sb?.spec.resources?.limits?.memory).toBe('8Gi');
  });
});

describe('durations', () => {
  it.each(['99999999999999999999h', '721h', '43201m'])('refuses timeout %s (max 720h)', async (timeout) => {
    refused(await create({ timeout }), 400, 'timeout');
    refused(await create({ idleTimeout: timeout }), 400, 'idleTimeout');
    await nothingStored();
  });

  it('accepts 720h', async () => {
    expect((await create({ timeout: '720h' })).statusCode).toBe(201);
  });
});

describe('labels and annotations (Kubernetes rules)', () => {
  it('refuses a label key that is not a qualified name', async () => {
    for (const key of ['bad key!', '-x', 'a/b/c', 'UPPER.example.com/x', `${'k'.repeat(64)}`, '/x', 'x/']) {
      refused(await create({ labels: { [key]: 'v' } }), 400, `labels.${key}`);
    }
    await nothingStored();
  });

  it('refuses a label value over 63 characters or with bad characters', async () => {
    refused(await create({ labels: { app: 'v'.repeat(64) } }), 400, 'labels.app');
    refused(await create({ labels: { app: 'has space' } }), 400, 'labels.app');
    await nothingStored();
  });

  it('accepts qualified keys with a prefix, and empty values', async () => {
    const r = await create({ labels: { 'example.com/team': 'a-b_c.d', tier: '' } });
    expect(r.statusCode, r.body).toBe(201);
  });

  it('refuses annotations over 256 KiB in total, also when a PATCH adds to them', async () => {
    const big = 'x'.repeat(LIMITS.annotationsMaxBytes);
    const body = refused(await create({ annotations: { note: big } }), 400, 'annotations');
    expect(body.message).toMatch(/256 KiB/);
    await nothingStored();
    const half = 'x'.repeat(LIMITS.annotationsMaxBytes / 2);
    expect((await create({ annotations: { a: half } })).statusCode).toBe(201);
    refused(await send('PATCH', '/api/v1/sandboxes/sb', { annotations: { b: half } }), 400, 'annotations');
    const sb = await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'sb' });
    expect(Object.keys(sb?.metadata.annotations ?? {})).toEqual(['a']);
  });
});

describe('query parameters', () => {
  it('refuses ?kind= that is not a template kind, instead of writing a cluster template', async () => {
    const r = await send('PUT', '/api/v1/templates/x?kind=Banana', { spec: {} });
    refused(r, 400, 'kind');
    expect(await store.get('ClusterSandboxTemplate', { name: 'x' })).toBeUndefined();
    refused(await send('GET', '/api/v1/templates/minimal-shell?kind=Banana'), 400, 'kind');
  });

  it('refuses a ?namespace= over 53 characters everywhere, as create does', async () => {
    const long = 'a'.repeat(LIMITS.nameMaxLength + 1);
    refused(await send('GET', `/api/v1/sandboxes?namespace=${long}`), 400, 'namespace');
    refused(await send('GET', `/api/v1/sandboxes/sb?namespace=${long}`), 400, 'namespace');
    refused(await send('GET', `/api/v1/templates?namespace=${long}`), 400, 'namespace');
    refused(
      await send('POST', `/api/v1/sandboxes?namespace=${long}`, { name: 'sb', template: 'minimal-shell' }),
      400,
      'namespace',
    );
    refused(await create({ namespace: long }), 400, 'namespace');
    await nothingStored();
    const ok = 'a'.repeat(LIMITS.nameMaxLength);
    expect((await send('GET', `/api/v1/sandboxes?namespace=${ok}`)).statusCode).toBe(200);
  });
});

describe('exec argument sizes (E2BIG)', () => {
  async function running() {
    expect((await create({})).statusCode).toBe(201);
    const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'sb' }))!;
    await store.updateStatus({ ...sb, status: { ...sb.status, phase: 'Running' } });
  }

  it('refuses one argument over the kernel limit with 400, naming the limit and stdin', async () => {
    await running();
    const big = 'x'.repeat(LIMITS.execArgMaxBytes + 1);
    const r = await send('POST', '/api/v1/sandboxes/sb/exec', { command: ['echo', big] });
    const body = refused(r, 400, 'command.1');
    expect(body.message).toContain(String(LIMITS.execArgMaxBytes));
    expect(body.message).toMatch(/stdin/);
    refused(await send('POST', '/api/v1/sandboxes/sb/exec', { command: big }), 400, 'command');
    refused(
      await send('POST', '/api/v1/sandboxes/sb/exec', { command: 'env', env: { BIG: big } }),
      400,
      'env.BIG',
    );
    expect(execs).toEqual([]);
  });

  it('counts multi-byte characters as the kernel does (bytes, not UTF-16 units)', async () => {
    await running();
    const euro = '€'.repeat(Math.floor(LIMITS.execArgMaxBytes / 3) + 1); // 3 bytes each
    refused(await send('POST', '/api/v1/sandboxes/sb/exec', { command: ['echo', euro] }), 400, 'command.1');
  });

  it('refuses argv and env together over the total limit', async () => {
    await running();
    const chunk = 'y'.repeat(100_000);
    const command = ['echo', ...Array.from({ length: 11 }, () => chunk)];
    const body = refused(await send('POST', '/api/v1/sandboxes/sb/exec', { command }), 400, 'command');
    expect(body.message).toContain(String(LIMITS.execArgvEnvMaxBytes));
    expect(execs).toEqual([]);
  });

  it('lets large input through stdin', async () => {
    await running();
    const stdin = 'z'.repeat(1024 * 1024);
    const r = await send('POST', '/api/v1/sandboxes/sb/exec', { command: ['wc', '-c'], stdin });
    expect(r.statusCode, r.body).toBe(200);
    expect(execs).toHaveLength(1);
  });
});
