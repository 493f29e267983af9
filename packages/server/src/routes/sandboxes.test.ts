import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { SANDBOX_FINALIZER } from '@agenttier/contract';
import { appHelpers, expectError, json, useAppHarness } from '../testing/app-harness.ts';

/** The sandbox routes (routes/sandboxes.ts). In-process on the shared harness (testing/app-harness.ts). */

const h = useAppHarness();
const { post, create, setPhase, running } = appHelpers(h);

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
    expect(h.nudged).toEqual(['default/demo']);
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
    expect(json(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes' }))).toEqual({ sandboxes: [] });
  });

  it('refuses a template whose inheritance has a cycle with 422', async () => {
    await h.app.inject({
      method: 'PUT',
      url: '/api/v1/templates/loop-a',
      payload: { spec: { inheritsFrom: { name: 'loop-b' } } },
    });
    await h.app.inject({
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
    const r = await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/x?namespace=Bad_NS' });
    expect(expectError(r, 400, 'VALIDATION_FAILED').details).toMatchObject([{ field: 'namespace' }]);
  });
});

describe('GET /api/v1/sandboxes', () => {
  it('filters by status and refuses an unknown status', async () => {
    await create('a');
    await running('b');
    const runningOnly = json(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes?status=Running' }));
    expect((runningOnly.sandboxes as Array<{ name: string }>).map((s) => s.name)).toEqual(['b']);
    expectError(
      await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes?status=running' }),
      400,
      'BAD_REQUEST',
    );
  });

  it('filters by namespace', async () => {
    await create('a');
    await post('/api/v1/sandboxes?namespace=team', { name: 'b', template: 'minimal-shell' });
    const team = json(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes?namespace=team' }));
    expect((team.sandboxes as Array<{ name: string }>).map((s) => s.name)).toEqual(['b']);
    const all = json(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes' }));
    expect(all.sandboxes).toHaveLength(2);
  });

  it('answers 404 SANDBOX_NOT_FOUND for an unknown sandbox', async () => {
    expectError(
      await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/ghost' }),
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
    const sb = await h.store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'sb' });
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
      const r = await h.app.inject({
        method,
        url,
        ...(method === 'PATCH' ? { payload: { timeout: '1h' } } : {}),
      });
      expectError(r, 404, 'SANDBOX_NOT_FOUND');
    }
  });

  it('patches timeouts immediately and resources on restart; an empty patch is 400', async () => {
    await running('sb');
    const t = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/sandboxes/sb',
      payload: { idleTimeout: '2h' },
    });
    expect(json(t)).toMatchObject({
      sandboxId: 'sb',
      applied: { idleTimeout: 'immediately' },
      restartRequired: false,
    });
    const res = await h.app.inject({
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
      await h.app.inject({ method: 'PATCH', url: '/api/v1/sandboxes/sb', payload: {} }),
      400,
      'VALIDATION_FAILED',
    );
    const bad = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/sandboxes/sb',
      payload: { timeout: '-5m' },
    });
    expect(expectError(bad, 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'timeout' }),
    ]);
  });

  it('merges labels and annotations as a JSON merge patch: null removes a key, an absent key is a no-op', async () => {
    await running('sb');
    const patch = (payload: Record<string, unknown>) =>
      h.app.inject({ method: 'PATCH', url: '/api/v1/sandboxes/sb', payload });
    const labelsNow = async () =>
      json(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb' })).labels;
    expect(
      (await patch({ labels: { team: 'ml', stale: 'yes' }, annotations: { note: 'x' } })).statusCode,
    ).toBe(200);
    const removed = await patch({ labels: { stale: null, 'never-set': null, env: 'dev' } });
    expect(json(removed)).toMatchObject({ applied: { labels: 'immediately' } });
    expect((json(removed).sandbox as { labels: unknown }).labels).toEqual({ team: 'ml', env: 'dev' });
    expect(await labelsNow()).toEqual({ team: 'ml', env: 'dev' });
    // Removing only keys that do not exist is valid and changes nothing.
    expect((await patch({ labels: { ghost: null } })).statusCode).toBe(200);
    expect(await labelsNow()).toEqual({ team: 'ml', env: 'dev' });
    expect((await patch({ annotations: { note: null } })).statusCode).toBe(200);
    const stored = await h.store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'sb' });
    expect(stored?.metadata.annotations ?? {}).toEqual({});
  });

  it.each([
    ['timeout', { timeout: null }, ['timeout']],
    ['resources.limits.memory', { resources: { limits: { memory: null } } }, ['resources.limits.memory']],
    ['all labels at once', { labels: null }, ['labels']],
    ['env', { env: null, idleTimeout: null }, ['env', 'idleTimeout']],
  ])(
    'refuses null where it is not a label or annotation value (%s): 400 naming the field',
    async (_w, payload, fields) => {
      await running('sb');
      const r = await h.app.inject({ method: 'PATCH', url: '/api/v1/sandboxes/sb', payload });
      const body = expectError(r, 400, 'VALIDATION_FAILED');
      expect((body.details as Array<{ field: string; rule: string }>).map((d) => [d.field, d.rule])).toEqual(
        fields.map((f) => [f, 'null_not_allowed']),
      );
      expect(body.message).toMatch(/may not be null/);
    },
  );

  it('still checks the labels it sets (a bad value beside a removal is 400 naming the key)', async () => {
    await running('sb');
    const r = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/sandboxes/sb',
      payload: { labels: { gone: null, bad: 'x'.repeat(64) } },
    });
    expect(expectError(r, 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'labels.bad' }),
    ]);
  });

  it('deletes with 204; with the controller finalizer it shows Deleting and refuses transitions', async () => {
    await running('sb');
    const sb = (await h.store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'sb' }))!;
    await h.store.update<Sandbox>({ ...sb, metadata: { ...sb.metadata, finalizers: [SANDBOX_FINALIZER] } });
    const del = await h.app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/sb' });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect(json(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb' }))).toMatchObject({
      status: 'Deleting',
    });
    expect(expectError(await post('/api/v1/sandboxes/sb/stop'), 409, 'INVALID_PHASE').message).toMatch(
      /being deleted/,
    );
    expectError(await post('/api/v1/sandboxes/sb/exec', { command: 'ls' }), 409, 'SANDBOX_NOT_RUNNING');
    expect((await h.app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/sb' })).statusCode).toBe(204); // idempotent
  });

  it('deletes a sandbox without finalizer at once', async () => {
    await create('sb');
    expect((await h.app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/sb' })).statusCode).toBe(204);
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/sb' }), 404, 'SANDBOX_NOT_FOUND');
  });
});
