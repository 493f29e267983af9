import type { FastifyInstance } from 'fastify';
import type { Sandbox, SandboxView } from '@agenttier/contract';
import {
  DEFAULT_NAMESPACE,
  PHASES,
  PlatformError,
  createSandboxRequestSchema,
  mapSeedSandboxFields,
  nameSchema,
  parseExactOrThrow,
  parseOrThrow,
  patchNullAllowed,
  patchSandboxRequestSchema,
  refuseMisplacedNulls,
} from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { Identity } from '../context.ts';
import { accessOf, maySee } from '../auth/ownership.ts';
import { sandboxOfRequest } from '../auth/request-sandbox.ts';
import type { SandboxService } from '../sandbox-service.ts';
import { sandboxView } from '../views.ts';
import type { QueryRoute, SandboxRoute } from './route-input.ts';

export interface SandboxRouteDeps {
  store: Store;
  sandboxes: SandboxService;
}

/** `?namespace=`: the same rules as a namespace in a create body (nameSchema), on every route. */
export function namespaceOf(query: unknown): string {
  const ns = (query as { namespace?: unknown } | undefined)?.namespace;
  if (ns === undefined || ns === '') return DEFAULT_NAMESPACE;
  return parseOrThrow(nameSchema, ns, 'query', 'namespace');
}

/** A view with how the caller may act on the sandbox (owner, admin, or its shared role). */
function withAccess(view: SandboxView, who: Identity, sb: Sandbox): SandboxView {
  const access = accessOf(who, sb);
  return access ? { ...view, access } : view;
}

export function registerSandboxRoutes(app: FastifyInstance, deps: SandboxRouteDeps): void {
  const { store, sandboxes } = deps;

  app.get<QueryRoute<'namespace' | 'status'>>('/api/v1/sandboxes', async (req) => {
    const q = req.query;
    if (q.status !== undefined && !(PHASES as readonly string[]).includes(q.status)) {
      throw new PlatformError('BAD_REQUEST', `status must be one of ${PHASES.join(', ')}`);
    }
    const items = await store.list<Sandbox>('Sandbox', q.namespace ? { namespace: namespaceOf(q) } : {});
    const views = items
      .filter((sb) => maySee(req.identity, sb))
      .map((sb) => withAccess(sandboxView(sb), req.identity, sb))
      .filter((v) => !q.status || v.status === q.status);
    return { sandboxes: views };
  });

  app.post<QueryRoute<'namespace'>>('/api/v1/sandboxes', async (req, reply) => {
    const body = parseExactOrThrow(
      createSandboxRequestSchema,
      mapSeedSandboxFields(req.body ?? {}),
      'sandbox',
    );
    const q = req.query;
    if (!body.namespace && q.namespace) body.namespace = namespaceOf(q);
    const created = await sandboxes.create(body, req.identity);
    reply.code(201);
    return sandboxView(created);
  });

  app.get<SandboxRoute>('/api/v1/sandboxes/:id', async (req) => {
    const sb = await sandboxOfRequest(store, req);
    return withAccess(sandboxView(sb), req.identity, sb);
  });

  app.patch<SandboxRoute>('/api/v1/sandboxes/:id', async (req) => {
    const { id } = req.params;
    refuseMisplacedNulls(req.body, 'patch', patchNullAllowed);
    const body = parseExactOrThrow(patchSandboxRequestSchema, mapSeedSandboxFields(req.body ?? {}), 'patch');
    const result = await sandboxes.patch(namespaceOf(req.query), id, body);
    const { sandbox, ...rest } = result;
    return { ...rest, sandbox: sandboxView(sandbox) };
  });

  app.delete<SandboxRoute>('/api/v1/sandboxes/:id', async (req, reply) => {
    const { id } = req.params;
    await sandboxes.delete(namespaceOf(req.query), id);
    reply.code(204);
    return null;
  });

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/stop', async (req) => {
    const { id } = req.params;
    const sb = await sandboxes.stop(namespaceOf(req.query), id);
    return { status: 'stopping', sandbox: sandboxView(sb) };
  });

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/resume', async (req) => {
    const { id } = req.params;
    const sb = await sandboxes.resume(namespaceOf(req.query), id);
    return { status: 'resuming', sandbox: sandboxView(sb) };
  });
}
