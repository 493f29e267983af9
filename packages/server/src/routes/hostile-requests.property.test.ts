import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import {
  MOUNT_PATH_DENY,
  PlatformError,
  annotationsSchema,
  isErrorCode,
  labelsSchema,
  mountPathProblem,
  parseBytes,
  parseCpuMillis,
  sandboxSpecSchema,
  templateSpecSchema,
} from '@agenttier/contract';
import type { DataPlane, ExecOutcome } from '@agenttier/core';
import type { SqliteStore } from '@agenttier/platform-local';
import { createApp } from '../app.ts';
import { seededStore } from '../testing/seeded-store.ts';

/**
 * Property-based: fast-check generates sandbox specs, templates and requests (valid, nearly valid and
 * hostile) and sends them to the real app on the real SQLite store (in memory; a data plane that answers
 * without an engine). For every one: no 5xx, every error in the documented shape, and nothing
 * half-made — a refused write stores nothing, and whatever is stored still satisfies every limit.
 */

const GI = 1024 ** 3;
const CAPACITY = { cpuMillis: 2000, memoryBytes: 8 * GI };

const plane = {
  kind: 'engine',
  async exec(): Promise<ExecOutcome> {
    return { stdout: '', stderr: '', exitCode: 0, durationMs: 1, timedOut: false, truncated: false };
  },
  async stat(_sb: Sandbox, path: string) {
    throw new PlatformError('FILE_NOT_FOUND', `path not found: ${path}`);
  },
  async list(_sb: Sandbox, path: string) {
    throw new PlatformError('FILE_NOT_FOUND', `path not found: ${path}`);
  },
  async read(_sb: Sandbox, path: string) {
    throw new PlatformError('FILE_NOT_FOUND', `path not found: ${path}`);
  },
  async write(_sb: Sandbox, _path: string, body: Uint8Array) {
    return { bytes: body.length };
  },
  async archiveTar() {
    return (async function* () {})();
  },
} as unknown as DataPlane;

let store: SqliteStore;
let app: FastifyInstance;

beforeAll(async () => {
  store = await seededStore();
  app = createApp({
    store,
    dataPlaneFor: async () => plane,
    logger: pino({ level: 'silent' }),
    capacity: CAPACITY,
  });
  await app.ready();
  // One Running sandbox, so exec and file routes get past the phase check.
  const r = await app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes',
    payload: { name: 'fixed', template: 'minimal-shell' },
  });
  expect(r.statusCode).toBe(201);
  const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'fixed' }))!;
  await store.updateStatus({ ...sb, status: { ...sb.status, phase: 'Running' } });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
});

// ---- generators ---------------------------------------------------------------------------------

const junk = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.jsonValue());
const nameArb = fc.oneof(
  fc.constantFrom('fixed', 'a', 'demo', 'x'.repeat(53), 'x'.repeat(54), 'Bad', '-a', '', 'a_b'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,12}[a-z0-9]$/),
  fc.string({ maxLength: 80 }),
);
const durationArb = fc.oneof(
  fc.constantFrom(
    '30s',
    '720h',
    '721h',
    '43200m',
    '99999999999999999999h',
    '0',
    '0s',
    '-1s',
    '1.5h',
    '1h30m',
    '',
  ),
  fc.string({ maxLength: 30 }),
  fc.integer(),
);
const quantityArb = fc.oneof(
  fc.constantFrom(
    '500m',
    '2',
    '3',
    '1000',
    '1Ki',
    '15Mi',
    '16Mi',
    '4Gi',
    '8Gi',
    '9Gi',
    '1Ti',
    '0',
    '-1',
    '1e9',
    '0.0001',
  ),
  fc.string({ maxLength: 20 }),
  fc.double(),
);
const mountPathArb = fc.oneof(
  fc.constantFrom(
    ...MOUNT_PATH_DENY.exact,
    ...MOUNT_PATH_DENY.tree,
    '/workspace',
    '/home/u/w',
    '/proc/1',
    '/a/../etc',
    '//etc',
    'rel',
    '',
    '/etc/',
  ),
  fc.stringMatching(/^(\/[a-z.]{1,5}){1,4}\/?$/),
  fc.string({ maxLength: 40 }),
);
const keyArb = fc.oneof(
  fc.constantFrom('app', 'example.com/team', 'bad key!', 'a/b/c', '-x', 'x'.repeat(64)),
  fc.string({ maxLength: 70 }),
);
const labelsArb = fc.dictionary(
  keyArb,
  fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('', 'ok', 'v'.repeat(64))),
  {
    maxKeys: 4,
  },
);
const annotationsArb = fc.dictionary(
  keyArb,
  fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.constant('x'.repeat(130 * 1024)),
    fc.constant('y'.repeat(300 * 1024)),
  ),
  { maxKeys: 3 },
);
const resourcesArb = fc.record(
  {
    limits: fc.oneof(fc.record({ cpu: quantityArb, memory: quantityArb }, { requiredKeys: [] }), junk),
    requests: fc.record({ cpu: quantityArb, memory: quantityArb }, { requiredKeys: [] }),
    pids: fc.oneof(fc.integer({ min: -10, max: 100_000 }), junk),
  },
  { requiredKeys: [] },
);
const templateRefArb = fc.oneof(
  fc.record(
    {
      name: fc.oneof(
        fc.constantFrom('minimal-shell', 'general-coding', 'langgraph-agent', 'missing'),
        nameArb,
      ),
      kind: fc.oneof(fc.constantFrom('SandboxTemplate', 'ClusterSandboxTemplate', 'Banana'), junk),
      namespace: nameArb,
    },
    { requiredKeys: ['name'] },
  ),
  junk,
);
const hostileCreateArb = fc.record(
  {
    name: nameArb,
    namespace: nameArb,
    templateRef: templateRefArb,
    template: fc.constantFrom('minimal-shell', 'missing'),
    mode: fc.oneof(fc.constantFrom('code', 'agent', 'x'), junk),
    timeout: durationArb,
    idleTimeout: durationArb,
    storage: fc.oneof(fc.record({ mountPath: mountPathArb, size: quantityArb }, { requiredKeys: [] }), junk),
    resources: fc.oneof(resourcesArb, junk),
    env: fc.oneof(
      fc.array(fc.record({ name: fc.string({ maxLength: 10 }), value: fc.string() }), { maxLength: 3 }),
      junk,
    ),
    labels: fc.oneof(labelsArb, junk),
    annotations: fc.oneof(annotationsArb, junk),
  },
  { requiredKeys: [] },
);
/** A create that would pass, so that the hostile fields below are tried one or two at a time on it. */
const validCreateArb = fc.record(
  {
    name: fc.stringMatching(/^[a-z][a-z0-9]{2,12}$/),
    template: fc.constantFrom('minimal-shell', 'general-coding'),
    timeout: fc.constantFrom('30s', '8h', '720h'),
    storage: fc.record({
      mountPath: fc.constantFrom('/workspace', '/home/u/w', '/var/lib/app'),
      size: fc.constantFrom('1Gi'),
    }),
    resources: fc.record({
      limits: fc.record({ cpu: fc.constantFrom('500m', '2'), memory: fc.constantFrom('16Mi', '8Gi') }),
    }),
    labels: fc.constantFrom({}, { app: 'x' }, { 'example.com/team': 'a-b' }),
    annotations: fc.constantFrom({}, { note: 'hello' }),
  },
  { requiredKeys: ['name', 'template'] },
);
/** One field of a create set to a generated, often hostile, value. */
const perturbationArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  mountPathArb.map((mountPath) => ({ storage: { mountPath } })),
  quantityArb.map((cpu) => ({ resources: { limits: { cpu } } })),
  quantityArb.map((memory) => ({ resources: { limits: { memory } } })),
  quantityArb.map((memory) => ({ resources: { requests: { memory } } })),
  durationArb.map((timeout) => ({ timeout })),
  durationArb.map((idleTimeout) => ({ idleTimeout })),
  labelsArb.map((labels) => ({ labels })),
  annotationsArb.map((annotations) => ({ annotations })),
  nameArb.map((name) => ({ name })),
  nameArb.map((namespace) => ({ namespace })),
  templateRefArb.map((templateRef) => ({ templateRef })),
  hostileCreateArb,
);
const createBodyArb = fc
  .tuple(validCreateArb, fc.array(perturbationArb, { minLength: 0, maxLength: 2 }))
  .map(([valid, changes]) => Object.assign({ ...valid }, ...changes) as Record<string, unknown>);
const templateBodyArb = fc.record(
  {
    kind: fc.oneof(fc.constantFrom('SandboxTemplate', 'ClusterSandboxTemplate', 'Banana'), junk),
    namespace: nameArb,
    spec: fc.oneof(
      fc.record(
        {
          inheritsFrom: fc.record({ name: fc.constantFrom('minimal-shell', 'missing') }),
          storage: fc.record({ mountPath: mountPathArb }, { requiredKeys: [] }),
          resources: resourcesArb,
          timeout: durationArb,
          initScripts: fc.oneof(fc.array(fc.string(), { maxLength: 2 }), junk),
        },
        { requiredKeys: [] },
      ),
      junk,
    ),
  },
  { requiredKeys: [] },
);
const queryArb = fc.record(
  {
    namespace: fc.oneof(nameArb, fc.constant('a'.repeat(70))),
    kind: fc.constantFrom('SandboxTemplate', 'ClusterSandboxTemplate', 'Banana', ''),
    status: fc.constantFrom('Running', 'Nope'),
    path: fc.oneof(
      fc.constantFrom('/workspace/a.txt', '../../etc/passwd', '/etc/shadow', ''),
      fc.string({ maxLength: 20 }),
    ),
  },
  { requiredKeys: [] },
);
const idArb = fc.oneof(
  fc.constant('fixed'),
  nameArb.map((n) => encodeURIComponent(n) || 'x'),
);

interface Req {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query: Record<string, string>;
  body?: unknown;
  contentType?: string;
}

const requestArb: fc.Arbitrary<Req> = fc
  .oneof(
    fc.record({
      method: fc.constant('POST' as const),
      path: fc.constant('/api/v1/sandboxes'),
      query: queryArb,
      body: createBodyArb,
    }),
    fc.record({
      method: fc.constantFrom('GET' as const, 'DELETE' as const, 'PATCH' as const),
      path: idArb.map((id) => `/api/v1/sandboxes/${id}`),
      query: queryArb,
      body: fc.oneof(createBodyArb, junk),
    }),
    fc.record({
      method: fc.constant('POST' as const),
      path: fc
        .tuple(idArb, fc.constantFrom('stop', 'resume', 'exec', 'fs/mkdir', 'fs/rename'))
        .map(([id, a]) => `/api/v1/sandboxes/${id}/${a}`),
      query: queryArb,
      body: fc.oneof(
        fc.record(
          {
            command: fc.oneof(
              fc.string(),
              fc.array(fc.string()),
              fc.constant(['echo', 'z'.repeat(140_000)]),
              junk,
            ),
            timeout: junk,
            env: junk,
            stdin: junk,
          },
          { requiredKeys: [] },
        ),
        fc.record({ path: fc.string(), from: fc.string(), to: fc.string() }, { requiredKeys: [] }),
        junk,
      ),
    }),
    fc.record({
      method: fc.constantFrom('GET' as const, 'PUT' as const, 'DELETE' as const),
      path: fc
        .tuple(idArb, fc.constantFrom('workspace/a.txt', 'workspace/../../etc/passwd', '', '%2e%2e/x'))
        .map(([id, p]) => `/api/v1/sandboxes/${id}/files/${p}`),
      query: queryArb,
      body: fc.oneof(fc.string(), junk),
    }),
    fc.record({
      method: fc.constant('GET' as const),
      path: fc
        .tuple(idArb, fc.constantFrom('fs/stat', 'archive', 'invokes', 'ports'))
        .map(([id, a]) => `/api/v1/sandboxes/${id}/${a}`),
      query: queryArb,
    }),
    fc.record({
      method: fc.constantFrom('GET' as const),
      path: fc.constantFrom('/api/v1/sandboxes', '/api/v1/templates'),
      query: queryArb,
    }),
    fc.record({
      method: fc.constantFrom('POST' as const, 'PUT' as const, 'GET' as const, 'DELETE' as const),
      path: nameArb.map((n) => `/api/v1/templates/${encodeURIComponent(n) || 'x'}`),
      query: queryArb,
      body: templateBodyArb,
    }),
  )
  .chain((req) =>
    fc
      .constantFrom<string | undefined>(
        undefined,
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
      )
      .map((contentType) => ({
        ...req,
        ...(contentType ? { contentType } : {}),
      })),
  );

// ---- checks -------------------------------------------------------------------------------------

async function send(req: Req): Promise<LightMyRequestResponse> {
  const qs = new URLSearchParams(req.query).toString();
  const url = `${req.path.replace(/\/api\/v1\/templates\/$/, '/api/v1/templates/x')}${qs ? `?${qs}` : ''}`;
  const withBody = req.body !== undefined && req.method !== 'GET' && req.method !== 'DELETE';
  const payload = withBody ? (typeof req.body === 'string' ? req.body : JSON.stringify(req.body)) : undefined;
  return app.inject({
    method: req.method,
    url,
    ...(payload !== undefined ? { payload } : {}),
    ...(payload !== undefined ? { headers: { 'content-type': req.contentType ?? 'application/json' } } : {}),
  });
}

function expectWellFormed(r: LightMyRequestResponse, what: string) {
  expect(r.statusCode, `${what} → ${r.statusCode} ${r.body.slice(0, 300)}`).toBeLessThan(500);
  if (r.statusCode < 400) return;
  const body = r.json() as Record<string, unknown>;
  expect(isErrorCode(body.code), `${what}: code ${String(body.code)}`).toBe(true);
  expect(typeof body.message).toBe('string');
  expect(body.error).toBe(body.message);
  expect(typeof body.requestId).toBe('string');
}

/** Every stored object still satisfies the limits, whatever was sent (nothing half-valid got in). */
async function expectStoreValid() {
  for (const sb of await store.list<Sandbox>('Sandbox')) {
    const where = `${sb.metadata.namespace}/${sb.metadata.name}`;
    expect(sandboxSpecSchema.safeParse(sb.spec).success, `${where} spec`).toBe(true);
    expect(labelsSchema.safeParse(sb.metadata.labels ?? {}).success, `${where} labels`).toBe(true);
    expect(annotationsSchema.safeParse(sb.metadata.annotations ?? {}).success, `${where} annotations`).toBe(
      true,
    );
    // Checked apart from the schema too, so unwiring the schema's rule cannot make this pass.
    if (sb.spec.storage?.mountPath)
      expect(mountPathProblem(sb.spec.storage.mountPath), where).toBeUndefined();
    const limits = sb.spec.resources?.limits;
    if (limits?.cpu) expect(parseCpuMillis(limits.cpu)!).toBeLessThanOrEqual(CAPACITY.cpuMillis);
    if (limits?.memory) expect(parseBytes(limits.memory)!).toBeLessThanOrEqual(CAPACITY.memoryBytes);
  }
  for (const kind of ['SandboxTemplate', 'ClusterSandboxTemplate'] as const) {
    for (const t of await store.list<SandboxTemplate>(kind)) {
      expect(templateSpecSchema.safeParse(t.spec).success, `${kind} ${t.metadata.name}`).toBe(true);
    }
  }
}

const keysOf = async () => ({
  sandboxes: new Set(
    (await store.list<Sandbox>('Sandbox')).map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
  ),
  templates: new Set(
    [...(await store.list('SandboxTemplate')), ...(await store.list('ClusterSandboxTemplate'))].map(
      (t) => `${t.kind}/${t.metadata.namespace ?? ''}/${t.metadata.name}`,
    ),
  ),
});

describe('hostile and random requests (fast-check)', () => {
  it('a generated create is either 201 with a valid object or refused with nothing stored', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(createBodyArb, async (body) => {
        const before = await keysOf();
        const r = await app.inject({ method: 'POST', url: '/api/v1/sandboxes', payload: body as object });
        statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
        expectWellFormed(r, `create ${JSON.stringify(body).slice(0, 200)}`);
        const after = await keysOf();
        try {
          await expectStoreValid();
          if (r.statusCode === 201) expect(after.sandboxes.size).toBe(before.sandboxes.size + 1);
          else expect(after.sandboxes).toEqual(before.sandboxes);
        } finally {
          // Each run starts from the same store, so a failure (and its shrinking) names its own input.
          for (const key of after.sandboxes) {
            if (before.sandboxes.has(key)) continue;
            const [namespace, name] = key.split('/') as [string, string];
            await store.delete('Sandbox', { namespace, name });
          }
        }
      }),
      { numRuns: 300 },
    );
    // Not vacuous: the generators reach both sides of the edge.
    expect(statuses.get(201) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(5);
    expect((statuses.get(400) ?? 0) + (statuses.get(422) ?? 0)).toBeGreaterThan(100);
  });

  it('random requests across the routes: never a 5xx, errors in one shape, refused writes store nothing', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(requestArb, async (req) => {
        const before = await keysOf();
        const r = await send(req);
        statuses.add(r.statusCode);
        expectWellFormed(r, `${req.method} ${req.path} ${JSON.stringify(req.query)}`);
        if (r.statusCode >= 400) {
          const after = await keysOf();
          expect(after.sandboxes).toEqual(before.sandboxes);
          expect(after.templates).toEqual(before.templates);
        }
        await expectStoreValid();
      }),
      { numRuns: 400 },
    );
    expect([...statuses].filter((st) => st < 300).length, JSON.stringify([...statuses])).toBeGreaterThan(1);
    expect([...statuses].filter((st) => st >= 400).length, JSON.stringify([...statuses])).toBeGreaterThan(2);
  });
});
