import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Sandbox, SandboxPhase } from '@agenttier/contract';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import type { SqliteStore } from '@agenttier/platform-local';
import { prefersJson } from './http/accept.ts';
import { SERVER_VERSION } from './version.ts';
import { seededStore } from './testing/seeded-store.ts';
import { createBareApp } from './testing/bare-app.ts';

/**
 * What the seed product's own clients send, verbatim, and what they need back (issue 14): the web UI's
 * empty JSON bodies, the Python SDK's `health()`. In-process on the real SQLite store; no controller
 * runs, so tests set phases the way it would.
 */

let store: SqliteStore;
let app: FastifyInstance;

beforeEach(async () => {
  store = await seededStore();
  app = createBareApp(store);
  await app.ready();
});

afterEach(async () => {
  await app.close();
  await store.close();
});

const json = (r: LightMyRequestResponse) => r.json() as Record<string, unknown>;

/** The web UI's request: `Content-Type: application/json` and no body at all. */
const emptyJson = (method: 'POST' | 'DELETE', url: string) =>
  app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: '' });

/** A POST with this exact body text and content type, as a hand-written or hostile client sends it. */
const rawPost = (url: string, contentType: string, payload: string) =>
  app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });

async function create(name: string, extra: Record<string, unknown> = {}) {
  const r = await app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes',
    payload: { name, templateRef: { name: 'minimal-shell', kind: 'ClusterSandboxTemplate' }, ...extra },
  });
  expect(r.statusCode, r.body).toBe(201);
  return json(r);
}

async function setPhase(name: string, phase: SandboxPhase) {
  let sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name }))!;
  if (phase === 'Stopped')
    sb = await store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Stopped' } });
  await store.updateStatus<Sandbox>({ ...sb, status: { ...sb.status, phase } });
}

describe('an empty body with Content-Type: application/json means no body', () => {
  it('stop, resume and delete a sandbox as the seed web UI sends them', async () => {
    await create('ui');
    await setPhase('ui', 'Running');
    const stop = await emptyJson('POST', '/api/v1/sandboxes/ui/stop');
    expect(stop.statusCode, stop.body).toBe(200);
    expect(json(stop).status).toBe('stopping');

    await setPhase('ui', 'Stopped');
    const resume = await emptyJson('POST', '/api/v1/sandboxes/ui/resume');
    expect(resume.statusCode, resume.body).toBe(200);
    expect(json(resume).status).toBe('resuming');

    const del = await emptyJson('DELETE', '/api/v1/sandboxes/ui');
    expect(del.statusCode, del.body).toBe(204);
  });

  it('remove a port and delete a template as the seed web UI sends them', async () => {
    await create('ports');
    const add = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes/ports/ports',
      payload: { port: 8000, protocol: 'http' },
    });
    expect(add.statusCode, add.body).toBe(201);
    const remove = await emptyJson('DELETE', '/api/v1/sandboxes/ports/ports/8000');
    expect(remove.statusCode, remove.body).toBe(204);
    const list = await app.inject({ method: 'GET', url: '/api/v1/sandboxes/ports/ports' });
    expect(json(list).ports).toEqual([]);

    const tpl = await app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      payload: { name: 'scratch', spec: { description: 'to delete' } },
    });
    expect(tpl.statusCode, tpl.body).toBe(201);
    const delTpl = await emptyJson('DELETE', '/api/v1/templates/scratch');
    expect(delTpl.statusCode, delTpl.body).toBe(204);
  });

  it('a route that needs a body still refuses the missing one, by its schema', async () => {
    const r = await emptyJson('POST', '/api/v1/sandboxes');
    expect(r.statusCode, r.body).toBe(400);
    expect(json(r).code).toBe('VALIDATION_FAILED');
  });

  it('malformed JSON, prototype poisoning and text/plain are still refused', async () => {
    await create('bad');
    const malformed = await rawPost('/api/v1/sandboxes', 'application/json', '{"name": ');
    expect(malformed.statusCode).toBe(400);
    expect(json(malformed).code).toBe('INVALID_JSON');

    const poisoned = await rawPost(
      '/api/v1/sandboxes',
      'application/json',
      '{"name": "p", "template": "minimal-shell", "__proto__": {"admin": true}}',
    );
    expect(poisoned.statusCode, poisoned.body).toBe(400);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();

    const whitespace = await rawPost('/api/v1/sandboxes/bad/stop', 'application/json', '  ');
    expect(whitespace.statusCode).toBe(400);
    expect(json(whitespace).code).toBe('INVALID_JSON');

    const text = await rawPost('/api/v1/sandboxes/bad/stop', 'text/plain', '');
    expect(text.statusCode).toBe(415);
  });
});

describe('GET /healthz', () => {
  it('answers the seed SDK JSON when it asks for JSON, plain ok otherwise', async () => {
    const asJson = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { accept: 'application/json' },
    });
    expect(asJson.statusCode).toBe(200);
    expect(asJson.headers['content-type']).toMatch(/^application\/json/);
    expect(asJson.json()).toEqual({ status: 'ok', version: SERVER_VERSION });

    for (const accept of [undefined, '*/*', 'text/plain', 'text/plain, application/json;q=0.5']) {
      const probe = await app.inject({
        method: 'GET',
        url: '/healthz',
        ...(accept ? { headers: { accept } } : {}),
      });
      expect(probe.headers['content-type'], accept).toMatch(/^text\/plain/);
      expect(probe.body).toBe('ok');
    }
  });

  it('reports the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(SERVER_VERSION).toBe(pkg.version);
  });

  it('prefersJson weighs qualities', () => {
    expect(prefersJson('application/json, text/plain;q=0.9')).toBe(true);
    expect(prefersJson('application/json;q=0, text/plain')).toBe(false);
    expect(prefersJson('text/*;q=0.2, application/json;q=0.1')).toBe(false);
    expect(prefersJson('application/json;q=abc')).toBe(false);
  });
});

describe('seed create overrides and template fields are honoured or refused by name, never dropped', () => {
  const stored = async (name: string) =>
    (await store.get<Sandbox>('Sandbox', { namespace: 'default', name }))!.spec;
  const details = (r: LightMyRequestResponse) =>
    (json(r).details as Array<{ field: string; message: string }>).map((d) => d.field);

  it('maps flat resources {cpu, memory} onto limits and maxRuntime onto timeout (seed 000 §9)', async () => {
    const view = await create('flat', { resources: { cpu: '2', memory: '8Gi' }, maxRuntime: '24h' });
    expect(view.timeout).toBe('24h');
    const spec = await stored('flat');
    expect(spec.resources).toEqual({ limits: { cpu: '2', memory: '8Gi' } });
    expect(spec.timeout).toBe('24h');
  });

  it('keeps our own limits next to a flat alias, and the same value given both ways', async () => {
    await create('both', {
      resources: { memory: '1Gi', limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } },
      maxRuntime: '2h',
      timeout: '2h',
    });
    expect((await stored('both')).resources).toEqual({
      limits: { cpu: '1', memory: '1Gi' },
      requests: { cpu: '500m' },
    });
  });

  it('refuses an alias that contradicts our field, naming it', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      payload: { name: 'x', template: 'minimal-shell', maxRuntime: '24h', timeout: '1h' },
    });
    expect(r.statusCode).toBe(400);
    expect(details(r)).toEqual(['maxRuntime']);
    const mem = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      payload: {
        name: 'x',
        template: 'minimal-shell',
        resources: { memory: '1Gi', limits: { memory: '2Gi' } },
      },
    });
    expect(details(mem)).toEqual(['resources.memory']);
  });

  it('validates the aliased values like our own (a bad flat memory is resources.limits.memory)', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      payload: { name: 'x', template: 'minimal-shell', resources: { memory: 'lots' }, maxRuntime: 'forever' },
    });
    expect(r.statusCode).toBe(400);
    expect(details(r).sort()).toEqual(['resources.limits.memory', 'timeout']);
  });

  it('refuses ephemeralStorage and any unknown nested field by name instead of answering 201', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      payload: {
        name: 'eph',
        template: 'minimal-shell',
        resources: { cpu: '2', ephemeralStorage: '20Gi' },
        storage: { size: '10Gi', snapshotOnStop: true },
      },
    });
    expect(r.statusCode, r.body).toBe(400);
    expect(json(r).code).toBe('VALIDATION_FAILED');
    expect(details(r)).toEqual(['resources.ephemeralStorage', 'storage.snapshotOnStop']);
    expect(String(json(r).message)).toMatch(/ephemeralStorage is not supported/);
    expect(await store.get('Sandbox', { namespace: 'default', name: 'eph' })).toBeUndefined();

    await create('patched');
    const patch = await app.inject({
      method: 'PATCH',
      url: '/api/v1/sandboxes/patched',
      payload: { resources: { limits: { memory: '2Gi', gpu: '1' } } },
    });
    expect(patch.statusCode).toBe(400);
    expect(details(patch)).toEqual(['resources.limits.gpu']);
    const flat = await app.inject({
      method: 'PATCH',
      url: '/api/v1/sandboxes/patched',
      payload: { resources: { memory: '2Gi' } },
    });
    expect(flat.statusCode, flat.body).toBe(200);
    expect((await stored('patched')).resources?.limits?.memory).toBe('2Gi');
  });

  it('stores harness.systemPrompt, credentials and serviceAccount annotations; refuses what it cannot honour', async () => {
    const ok = await app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      payload: {
        name: 'agent-tpl',
        spec: {
          mode: 'agent',
          harness: { systemPrompt: { content: 'You are careful.', path: '/workspace/PROMPT.md' } },
        },
      },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const got = await app.inject({ method: 'GET', url: '/api/v1/templates/agent-tpl' });
    expect((json(got).spec as { harness: unknown }).harness).toEqual({
      systemPrompt: { content: 'You are careful.', path: '/workspace/PROMPT.md' },
    });

    const refused = await app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      payload: {
        name: 'irsa',
        spec: {
          serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' } },
          harness: { systemPrompt: { configMapRef: { name: 'p' } } },
        },
      },
    });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(details(refused)).toEqual(['spec.harness.systemPrompt.configMapRef']);
    expect((await app.inject({ method: 'GET', url: '/api/v1/templates/irsa' })).statusCode).toBe(404);

    // Seed 000 §7: the template annotates the per-sandbox ServiceAccount (IRSA); a sandbox cannot.
    const irsa = await app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      payload: {
        name: 'irsa',
        spec: { serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' } } },
      },
    });
    expect(irsa.statusCode, irsa.body).toBe(201);
    const named = await app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      payload: { name: 'named-sa', spec: { serviceAccount: 'someone-elses' } },
    });
    expect(named.statusCode).toBe(400);
    const onSandbox = await app.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      payload: { name: 'sa', template: 'irsa', serviceAccount: { annotations: { a: 'b' } } },
    });
    expect(onSandbox.statusCode).toBe(400);
    expect(String(json(onSandbox).message)).toMatch(/serviceAccount is a template field/);

    const creds = await app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      payload: {
        name: 'creds',
        spec: { credentials: [{ secretName: 'aws', mountAs: 'env', envPrefix: 'AWS_' }] },
      },
    });
    expect(creds.statusCode, creds.body).toBe(201);
    const back = await app.inject({ method: 'GET', url: '/api/v1/templates/creds' });
    expect((json(back).spec as { credentials: unknown }).credentials).toEqual([
      { secretName: 'aws', mountAs: 'env', envPrefix: 'AWS_' },
    ]);
  });
});

describe('exact bodies accept what the API itself returns', () => {
  it('every built-in template read back can be written back unchanged', async () => {
    for (const t of BUILTIN_TEMPLATES) {
      const got = await app.inject({ method: 'GET', url: `/api/v1/templates/${t.metadata.name}` });
      const put = await app.inject({
        method: 'PUT',
        url: `/api/v1/templates/${t.metadata.name}`,
        payload: { spec: json(got).spec },
      });
      expect(put.statusCode, `${t.metadata.name}: ${put.body}`).toBe(200);
    }
  });
});

describe('named port forwards (seed 003 §7)', () => {
  const forward = (sb: string, payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/v1/sandboxes/${sb}/ports`, payload });
  const list = async (sb: string) =>
    json(await app.inject({ method: 'GET', url: `/api/v1/sandboxes/${sb}/ports` })).ports as Array<
      Record<string, unknown>
    >;

  it('create(name="web", port=8000), list shows the name, delete("web") removes it', async () => {
    await create('named');
    const web = await forward('named', { name: 'web', port: 8000 });
    expect(web.statusCode, web.body).toBe(201);
    expect(json(web)).toMatchObject({ name: 'web', port: 8000, protocol: 'http' });
    expect(json(web).previewUrl).toEqual(expect.any(String));
    expect((await forward('named', { port: 9000 })).statusCode).toBe(201);
    expect((await list('named')).map((p) => [p.name, p.port])).toEqual([
      ['web', 8000],
      [undefined, 9000],
    ]);
    // Same name and port again: idempotent.
    expect((await forward('named', { name: 'web', port: 8000 })).statusCode).toBe(201);

    const del = await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/named/ports/web' });
    expect(del.statusCode, del.body).toBe(204);
    expect((await list('named')).map((p) => p.port)).toEqual([9000]);
  });

  it('a name names one port; unknown names are 404; bad names 400', async () => {
    await create('clash');
    await forward('clash', { name: 'web', port: 8000 });
    const reuse = await forward('clash', { name: 'web', port: 8001 });
    expect(reuse.statusCode).toBe(409);
    expect(json(reuse).code).toBe('ALREADY_EXISTS');
    const rename = await forward('clash', { name: 'api', port: 8000 });
    expect(rename.statusCode).toBe(409);
    // An unnamed forward takes the name it is given later.
    await forward('clash', { port: 3000 });
    expect(json(await forward('clash', { name: 'dev', port: 3000 }))).toMatchObject({ name: 'dev' });

    const missing = await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/clash/ports/nope' });
    expect(missing.statusCode).toBe(404);
    expect(json(missing).code).toBe('PORT_NOT_FOUND');
    for (const bad of ['Web', '8x', 'a_b']) {
      const r = await forward('clash', { name: bad, port: 4000 });
      expect(r.statusCode, bad).toBe(400);
      expect(json(r).code).toBe('VALIDATION_FAILED');
    }
    const badDelete = await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/clash/ports/-x' });
    expect(badDelete.statusCode).toBe(400);
    // A number still means the port, and stays idempotent.
    const byNumber = await app.inject({ method: 'DELETE', url: '/api/v1/sandboxes/clash/ports/4000' });
    expect(byNumber.statusCode).toBe(204);
    expect((await list('clash')).map((p) => [p.name, p.port])).toEqual([
      ['web', 8000],
      ['dev', 3000],
    ]);
  });
});
