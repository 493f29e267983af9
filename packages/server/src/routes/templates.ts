import type { FastifyInstance } from 'fastify';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import {
  API_VERSION,
  PlatformError,
  nameSchema,
  parseExactOrThrow,
  parseOrThrow,
  templateKindSchema,
  templateWriteRequestSchema,
} from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import { namespaceOf } from './sandboxes.ts';
import type { QueryRoute, TemplateRoute } from './route-input.ts';
import { templateView } from '../views.ts';

/**
 * Templates: ClusterSandboxTemplates by default; `?kind=SandboxTemplate&namespace=x` (or a body `kind`)
 * for namespaced ones. PUT is create-or-replace, which is what `agenttier template apply` wants.
 */
export function registerTemplateRoutes(app: FastifyInstance, deps: { store: Store }): void {
  const { store } = deps;
  // `?kind=` (or the body's kind) names one of the two template kinds or is left out; anything else
  // is refused rather than silently taken as a cluster template.
  const kindOf = (q: unknown, bodyKind?: string) => {
    const kind = bodyKind ?? (q as { kind?: unknown }).kind;
    if (kind === undefined || kind === '') return 'ClusterSandboxTemplate' as const;
    return parseOrThrow(templateKindSchema, kind, 'query', 'kind');
  };
  const keyOf = (kind: 'SandboxTemplate' | 'ClusterSandboxTemplate', q: unknown, name: string) =>
    kind === 'SandboxTemplate' ? { namespace: namespaceOf(q), name } : { name };
  const notFound = (name: string) =>
    new PlatformError(
      'TEMPLATE_NOT_FOUND',
      `template "${name}" not found; list templates with \`agenttier template list\``,
    );

  app.get<QueryRoute<'namespace'>>('/api/v1/templates', async (req) => {
    const q = req.query;
    const cluster = await store.list<SandboxTemplate>('ClusterSandboxTemplate');
    const namespaced = q.namespace
      ? await store.list<SandboxTemplate>('SandboxTemplate', { namespace: namespaceOf(q) })
      : [];
    return { templates: [...cluster, ...namespaced].map(templateView) };
  });

  app.get<TemplateRoute>('/api/v1/templates/:name', async (req) => {
    const { name } = req.params;
    const kind = kindOf(req.query);
    const t = await store.get<SandboxTemplate>(kind, keyOf(kind, req.query, name));
    if (!t) throw notFound(name);
    return templateView(t);
  });

  const parseBody = (body: unknown) => parseExactOrThrow(templateWriteRequestSchema, body ?? {}, 'template');
  const write = async (
    name: string,
    parsed: ReturnType<typeof parseBody>,
    query: unknown,
    mode: 'create' | 'upsert',
  ) => {
    parseOrThrow(nameSchema, name, 'template name', 'name');
    if (parsed.name && parsed.name !== name) {
      throw new PlatformError(
        'VALIDATION_FAILED',
        `name in the body ("${parsed.name}") does not match the URL ("${name}")`,
      );
    }
    const kind = kindOf(query, parsed.kind);
    const key = keyOf(kind, parsed.namespace ? { namespace: parsed.namespace } : query, name);
    const existing = await store.get<SandboxTemplate>(kind, key);
    if (existing && mode === 'create') {
      throw new PlatformError(
        'ALREADY_EXISTS',
        `template "${name}" already exists; use PUT (or \`agenttier template apply\`) to replace it`,
      );
    }
    if (existing) {
      return {
        status: 200,
        template: await store.update<SandboxTemplate>({ ...existing, spec: parsed.spec }),
      };
    }
    const created = await store.create<SandboxTemplate>({
      apiVersion: API_VERSION,
      kind,
      metadata: { ...key, labels: { 'agenttier.io/managed': 'true' } },
      spec: parsed.spec,
    });
    return { status: 201, template: created };
  };

  app.post('/api/v1/templates', async (req, reply) => {
    const parsed = parseBody(req.body);
    if (parsed.name === undefined) {
      throw new PlatformError('VALIDATION_FAILED', 'invalid template: name is required', {
        details: [{ field: 'name', rule: 'required', message: 'is required' }],
      });
    }
    const { status, template } = await write(parsed.name, parsed, req.query, 'create');
    reply.code(status);
    return templateView(template);
  });

  app.put<TemplateRoute>('/api/v1/templates/:name', async (req, reply) => {
    const { name } = req.params;
    const { status, template } = await write(name, parseBody(req.body), req.query, 'upsert');
    reply.code(status);
    return templateView(template);
  });

  app.delete<TemplateRoute>('/api/v1/templates/:name', async (req, reply) => {
    const { name } = req.params;
    const kind = kindOf(req.query);
    const key = keyOf(kind, req.query, name);
    if (!(await store.get(kind, key))) throw notFound(name);
    const users = (await store.list<Sandbox>('Sandbox')).filter(
      (s) =>
        !s.metadata.deletionTimestamp &&
        s.spec.templateRef.name === name &&
        (s.spec.templateRef.kind ?? 'ClusterSandboxTemplate') === kind,
    );
    if (users.length > 0) {
      const names = users
        .slice(0, 5)
        .map((s) => s.metadata.name)
        .join(', ');
      throw new PlatformError(
        'TEMPLATE_IN_USE',
        `cannot delete template: sandbox(es) ${names} still use it; delete them first`,
      );
    }
    await store.delete(kind, key);
    reply.code(204);
    return null;
  });
}
