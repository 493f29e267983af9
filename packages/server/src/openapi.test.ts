import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import {
  patchSandboxResponseSchema,
  portListSchema,
  portViewSchema,
  sandboxListSchema,
  sandboxViewSchema,
  stopResumeResponseSchema,
  templateListSchema,
  templateViewSchema,
} from '@agenttier/contract';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { MemoryStore } from '@agenttier/testkit';
import type { FastifyInstance } from 'fastify';
import { SqliteAgentRecords } from './agent/sqlite-agent-records.ts';
import { API_OPERATIONS, UNDOCUMENTED_ROUTES, openApiPath, routeTableOf } from './openapi.ts';
import { createBareApp } from './testing/bare-app.ts';

// Every optional part enabled (sandboxd routes, agent mode), so the route table is the whole API.
let app: FastifyInstance;
beforeAll(async () => {
  app = createBareApp(new MemoryStore(), {
    sandboxdFor: (_sb: Sandbox): SandboxdClient | undefined => undefined,
    agentRecords: new SqliteAgentRecords(':memory:'),
  });
  await app.ready();
});
afterAll(() => app.close());

describe('/api/v1/openapi.json', () => {
  it('documents every route the router registers, and no route it does not', () => {
    const documented = new Set(API_OPERATIONS.map((op) => `${op.method} ${op.path}`));
    const registered = routeTableOf(app)
      .filter((r) => !UNDOCUMENTED_ROUTES.has(r) && !r.includes('/preview/'))
      .map((r) => {
        const [method, url] = r.split(' ') as [string, string];
        return `${method} ${openApiPath(url)}`;
      });
    expect(registered.length).toBeGreaterThan(30);
    expect(registered.filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !registered.includes(d))).toEqual([]);
  });

  it('is served as OpenAPI 3.1 with the request schemas the routes validate with', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const create = doc.paths['/api/v1/sandboxes']?.post?.requestBody?.content['application/json']?.schema as {
      properties: Record<string, unknown>;
      required: string[];
      additionalProperties: unknown;
    };
    expect(create.required).toContain('name');
    expect(Object.keys(create.properties)).toEqual(
      expect.arrayContaining(['name', 'templateRef', 'timeout']),
    );
    expect(create.additionalProperties).toBe(false); // strict: unknown fields are refused
    expect(doc.paths['/api/v1/sandboxes/{id}/exec']?.post?.requestBody).toBeDefined();
  });
});

describe('the response schemas in the document', () => {
  it('describe what the routes answer, field for field', async () => {
    const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object) => {
      const r = await app.inject({ method, url, ...(payload ? { payload } : {}) });
      expect(r.statusCode, `${method} ${url}: ${r.body}`).toBeLessThan(300);
      return r.json() as unknown;
    };
    const spec = {
      image: { repository: 'agenttier/minimal-shell:dev' },
      description: 'for the schema test',
    };
    templateViewSchema.parse(await call('POST', '/api/v1/templates', { name: 'schema-tpl', spec }));
    templateViewSchema.parse(await call('PUT', '/api/v1/templates/schema-tpl', { spec }));
    templateViewSchema.parse(await call('GET', '/api/v1/templates/schema-tpl'));
    templateListSchema.parse(await call('GET', '/api/v1/templates'));

    const created = { name: 'schema-sb', templateRef: { name: 'schema-tpl' }, labels: { team: 'a' } };
    sandboxViewSchema.parse(await call('POST', '/api/v1/sandboxes', created));
    sandboxViewSchema.parse(await call('GET', '/api/v1/sandboxes/schema-sb'));
    patchSandboxResponseSchema.parse(await call('PATCH', '/api/v1/sandboxes/schema-sb', { timeout: '2h' }));
    sandboxListSchema.parse(await call('GET', '/api/v1/sandboxes'));
    const stop = stopResumeResponseSchema.parse(await call('POST', '/api/v1/sandboxes/schema-sb/stop'));
    expect(stop.status).toBe('stopping');
    const resume = stopResumeResponseSchema.parse(await call('POST', '/api/v1/sandboxes/schema-sb/resume'));
    expect(resume.status).toBe('resuming');

    portViewSchema.parse(
      await call('POST', '/api/v1/sandboxes/schema-sb/ports', { port: 8000, name: 'web' }),
    );
    portListSchema.parse(await call('GET', '/api/v1/sandboxes/schema-sb/ports'));

    const r = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    const doc = r.json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.paths['/api/v1/sandboxes/{id}']?.get?.responses['200']).toMatchObject({
      content: {
        'application/json': { schema: { required: expect.arrayContaining(['sandboxId', 'phase']) } },
      },
    });
  });
});
