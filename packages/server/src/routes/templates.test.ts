import { describe, expect, it } from 'vitest';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { appHelpers, expectError, json, useAppHarness } from '../testing/app-harness.ts';

/** The template routes (routes/templates.ts). In-process on the shared harness (testing/app-harness.ts). */

const h = useAppHarness();
const { post, create } = appHelpers(h);

describe('templates', () => {
  it('lists the built-in templates with their image and mode', async () => {
    const body = json(await h.app.inject({ method: 'GET', url: '/api/v1/templates' }));
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
      await h.app.inject({ method: 'GET', url: '/api/v1/templates/nope' }),
      404,
      'TEMPLATE_NOT_FOUND',
    );
    expectError(
      await h.app.inject({ method: 'DELETE', url: '/api/v1/templates/nope' }),
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
    const replaced = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/templates/mine',
      payload: { spec: { description: 'v2' } },
    });
    expect(replaced.statusCode).toBe(200);
    expect(json(replaced).description).toBe('v2');
    const fresh = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/templates/other',
      payload: { spec: {} },
    });
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
    const badSpec = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/templates/x',
      payload: { spec: { timeout: '-1s' } },
    });
    expect(expectError(badSpec, 400, 'VALIDATION_FAILED').details).toEqual([
      expect.objectContaining({ field: 'spec.timeout' }),
    ]);
    const mismatch = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/templates/x',
      payload: { name: 'y', spec: {} },
    });
    expectError(mismatch, 400, 'VALIDATION_FAILED');
  });

  it('refuses to delete a template in use with 409 TEMPLATE_IN_USE, then deletes it when unused', async () => {
    await create('user');
    const inUse = expectError(
      await h.app.inject({ method: 'DELETE', url: '/api/v1/templates/minimal-shell' }),
      409,
      'TEMPLATE_IN_USE',
    );
    expect(inUse.message).toMatch(/user/);
    await h.app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/user' });
    expect(
      (await h.app.inject({ method: 'DELETE', url: '/api/v1/templates/minimal-shell' })).statusCode,
    ).toBe(204);
  });

  it('keeps namespaced templates apart from cluster ones', async () => {
    const r = await h.app.inject({
      method: 'PUT',
      url: '/api/v1/templates/team-tpl?kind=SandboxTemplate&namespace=team',
      payload: { spec: { description: 'team only' } },
    });
    expect(r.statusCode).toBe(201);
    expect(json(r)).toMatchObject({ kind: 'SandboxTemplate', namespace: 'team' });
    expectError(
      await h.app.inject({ method: 'GET', url: '/api/v1/templates/team-tpl' }),
      404,
      'TEMPLATE_NOT_FOUND',
    );
    const listed = json(await h.app.inject({ method: 'GET', url: '/api/v1/templates?namespace=team' }));
    expect((listed.templates as Array<{ name: string }>).map((t) => t.name)).toContain('team-tpl');
  });
});
