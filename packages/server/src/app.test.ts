import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { isErrorCode } from '@agenttier/contract';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { appHelpers, expectError, json, RFC3339, useAppHarness } from './testing/app-harness.ts';
import { createApp } from './app.ts';

/** The app as a whole: conventions every route follows, request bodies. In-process on the shared harness (testing/app-harness.ts). */

const h = useAppHarness();
const { create, setPhase, running } = appHelpers(h);

describe('conventions', () => {
  it('echoes a valid X-Request-ID on success and in error bodies', async () => {
    const ok = await h.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'trace-123.abc_D' },
    });
    expect(ok.headers['x-request-id']).toBe('trace-123.abc_D');
    const err = await h.app.inject({
      method: 'GET',
      url: '/api/v1/sandboxes/nope',
      headers: { 'x-request-id': 'trace-456' },
    });
    expect(expectError(err, 404, 'SANDBOX_NOT_FOUND').requestId).toBe('trace-456');
  });

  it('replaces an unusable X-Request-ID with a generated one', async () => {
    for (const bad of ['has space', 'a'.repeat(129), 'semi;colon', '']) {
      const r = await h.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': bad } });
      expect(r.headers['x-request-id']).toMatch(/^[0-9a-f]{16}$/);
    }
    const none = await h.app.inject({ method: 'GET', url: '/healthz' });
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
      const r = await h.app.inject({ method, url: `${url}?x=1` });
      const body = expectError(r, 404, 'NOT_FOUND');
      expect(body.message).toBe(`no route for ${method} ${url}; see docs/api.md`);
    }
  });

  it('answers a malformed URL escape with 400 BAD_REQUEST in the uniform body', async () => {
    // Fastify answers these before routing, outside setErrorHandler, unless `frameworkErrors` is set.
    const r = await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/%E0%A4%A' });
    expectError(r, 400, 'BAD_REQUEST');
  });

  it('answers an over-long path parameter with a catalogue error in the uniform body', async () => {
    const r = await h.app.inject({ method: 'GET', url: `/api/v1/sandboxes/${'a'.repeat(5000)}` });
    expect(r.statusCode).toBeGreaterThanOrEqual(400);
    expect(r.statusCode).toBeLessThan(500);
    const body = json(r);
    expect(isErrorCode(body.code), r.body.slice(0, 120)).toBe(true);
    expect(body.requestId).toBe(r.headers['x-request-id']);
  });

  it('serves /healthz, /readyz (503 when a check fails) and /metrics', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).body).toBe('ok');
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).body).toBe('ok');
    h.readinessError = new Error('engine down');
    const notReady = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.body).toBe('not ready: engine down');
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(
      /agenttier_http_requests_total\{method="GET",route="\/readyz",status="503"\} 1/,
    );
  });

  it('lists are [] when empty, never null', async () => {
    const sandboxes = await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes' });
    expect(json(sandboxes)).toEqual({ sandboxes: [] });
    await running('lists');
    const files = await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/lists/files/' });
    expect(json(files)).toEqual({ path: '/workspace', entries: [] });
    await h.app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/lists' });
    for (const t of BUILTIN_TEMPLATES)
      await h.store.delete('ClusterSandboxTemplate', { name: t.metadata.name });
    const templates = await h.app.inject({ method: 'GET', url: '/api/v1/templates' });
    expect(json(templates)).toEqual({ templates: [] });
  });

  it('gives a new sandbox [] conditions, {} labels and RFC 3339 times', async () => {
    const created = await create('fresh');
    expect(created).toMatchObject({ labels: {}, conditions: [] });
    expect(created.createdAt).toMatch(RFC3339);
    await setPhase('fresh', 'Running');
    const got = json(await h.app.inject({ method: 'GET', url: '/api/v1/sandboxes/fresh' }));
    expect(got.startedAt).toMatch(RFC3339);
    const template = json(await h.app.inject({ method: 'GET', url: '/api/v1/templates/minimal-shell' }));
    expect(template.createdAt).toMatch(RFC3339);
  });
});

describe('request bodies', () => {
  it('refuses malformed JSON with 400 INVALID_JSON', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "x",',
    });
    expect(expectError(r, 400, 'INVALID_JSON').message).toMatch(/^request body is not valid JSON/);
  });

  it('takes an empty body declared as JSON as no body: create then needs its fields (400 VALIDATION_FAILED)', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expectError(r, 400, 'VALIDATION_FAILED');
  });

  it('refuses a body of another media type with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      headers: { 'content-type': 'application/xml' },
      payload: '<sandbox/>',
    });
    expectError(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a JSON body over the JSON limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const small = createApp({
      store: h.store,
      dataPlaneFor: async () => h.plane,
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
