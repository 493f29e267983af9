import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import {
  apiKeyListSchema,
  auditEventPageSchema,
  authMethodsSchema,
  createdApiKeySchema,
  openApiDocumentSchema,
  sandboxEventListSchema,
  sandboxShareListSchema,
  sandboxShareSchema,
  secretListSchema,
  secretViewSchema,
  sessionLoginResultSchema,
  userInfoSchema,
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
import { SqliteAuditLog } from './auth/sqlite-audit-log.ts';
import { SqliteSessionStore } from './auth/session-store.ts';
import { SqliteSandboxEvents } from './observability/sqlite-sandbox-events.ts';
import {
  API_OPERATIONS,
  STREAMED_ANSWERS,
  UNDOCUMENTED_ROUTES,
  openApiPath,
  routeTableOf,
} from './openapi.ts';
import { SqliteSecretStore } from './secrets/sqlite-secret-store.ts';
import { startAuthTestApp } from './testing/auth-app.ts';
import { seededStore } from './testing/seeded-store.ts';
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

  it('gives every operation a response schema for its success status, streams and downloads aside', () => {
    const problems: string[] = [];
    for (const op of API_OPERATIONS) {
      const id = `${op.method} ${op.path}`;
      const { status, schema, contentType } = op.success;
      const streamed = STREAMED_ANSWERS.get(id);
      if (status === 204 || (status >= 300 && status < 400)) {
        if (schema || streamed) problems.push(`${id}: a ${status} has no body to describe`);
      } else if (streamed) {
        if (contentType !== streamed) problems.push(`${id}: answers ${contentType}, listed as ${streamed}`);
        if (schema) problems.push(`${id}: listed as streamed but has a JSON schema`);
      } else if (!schema) problems.push(`${id}: no response schema for ${status}`);
      else if (contentType && contentType !== 'application/json')
        problems.push(`${id}: a schema for ${contentType}, which is not JSON`);
    }
    const operations = new Set(API_OPERATIONS.map((op) => `${op.method} ${op.path}`));
    for (const id of STREAMED_ANSWERS.keys())
      if (!operations.has(id)) problems.push(`${id}: not an operation`);
    expect(problems).toEqual([]);
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
    openApiDocumentSchema.parse(await call('GET', '/api/v1/openapi.json'));

    const r = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    const doc = r.json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.paths['/api/v1/sandboxes/{id}']?.get?.responses['200']).toMatchObject({
      content: {
        'application/json': { schema: { required: expect.arrayContaining(['sandboxId', 'phase']) } },
      },
    });
  });
});

describe('the account, sharing, secret, audit and login answers', () => {
  it('match their schemas, field for field', async () => {
    const audit = new SqliteAuditLog(':memory:');
    const sessions = new SqliteSessionStore(':memory:');
    const events = new SqliteSandboxEvents(':memory:');
    const store = await seededStore();
    const t = await startAuthTestApp({
      store,
      secrets: new SqliteSecretStore({ path: ':memory:', key: randomBytes(32) }),
      auditLog: audit,
      sessions: { store: sessions },
      sandboxEvents: events,
    });
    try {
      const admin = (await t.issue('ada', true)).key;
      const call = async (method: string, url: string, payload?: unknown, status = 200) => {
        const r = await t.call(admin, method, url, payload);
        expect(r.statusCode, `${method} ${url}: ${r.body}`).toBe(status);
        return r.json() as unknown;
      };
      userInfoSchema.parse(await call('GET', '/api/v1/user/me'));
      await call('POST', '/api/v1/sandboxes', { name: 'shared', template: 'minimal-shell' }, 201);
      const created = createdApiKeySchema.parse(
        await call('POST', '/api/v1/user/api-keys', { name: 'ci', expiresInDays: 7 }, 201),
      );
      createdApiKeySchema.parse(
        await call(
          'POST',
          '/api/v1/user/api-keys',
          { name: 'agent', sandbox: 'shared', verbs: ['read', 'exec'] },
          201,
        ),
      );
      const keys = apiKeyListSchema.parse(await call('GET', '/api/v1/user/api-keys?all=true'));
      expect(keys.items.map((k) => k.id)).toContain(created.id);

      secretViewSchema.parse(await call('PUT', '/api/v1/secrets/gh', { stringData: { token: 'v' } }, 201));
      secretViewSchema.parse(await call('PUT', '/api/v1/secrets/gh', { stringData: { token: 'w' } }));
      secretViewSchema.parse(await call('GET', '/api/v1/secrets/gh'));
      secretListSchema.parse(await call('GET', '/api/v1/secrets'));

      sandboxShareSchema.parse(await call('PUT', '/api/v1/sandboxes/shared/shares/bob', { role: 'viewer' }));
      sandboxShareListSchema.parse(await call('GET', '/api/v1/sandboxes/shared/shares'));
      const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'shared' }))!;
      events.record(sb, { type: 'Warning', reason: 'BackOff', message: 'the image would not start' });
      const feed = sandboxEventListSchema.parse(await call('GET', '/api/v1/sandboxes/shared/events'));
      expect(feed.events.map((e) => e.reason)).toContain('BackOff');

      const page = auditEventPageSchema.parse(await call('GET', '/api/v1/audit/events?limit=2'));
      expect(page.next).toBeDefined();
      authMethodsSchema.parse(await call('GET', '/api/v1/auth/methods'));
      const login = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/session',
        payload: { apiKey: admin },
      });
      expect(login.statusCode, login.body).toBe(201);
      sessionLoginResultSchema.parse(login.json());
    } finally {
      await t.close();
      audit.close();
      sessions.close();
      events.close();
      await store.close();
    }
  });
});
