import type { FastifyInstance } from 'fastify';
import type { SecretView } from '@agenttier/contract';
import {
  DEFAULT_NAMESPACE,
  LIMITS,
  PlatformError,
  parseOrThrow,
  secretNameSchema,
  secretWriteRequestSchema,
} from '@agenttier/contract';
import type { SecretMeta, SecretStore } from '@agenttier/core';
import type { Identity } from '../context.ts';
import { namespaceOf } from './sandboxes.ts';
import type { QueryOf, QueryRoute } from './route-input.ts';

interface SecretRoute {
  Params: { name: string };
  Querystring: QueryOf<'namespace'>;
}

export function secretView(m: SecretMeta): SecretView {
  return {
    name: m.name,
    namespace: m.namespace,
    keys: m.keys,
    owner: m.owner,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

/**
 * A caller's own secrets: write (values in), list and show (names and keys out), delete. Every lookup
 * is by the caller's id, admins included: nobody reads or uses another user's secret through the API,
 * and another user's secret answers the same 404 as a missing one. Scoped keys cannot reach these
 * routes (access-rules.ts). Values are never in an answer, an error message or the audit trail.
 */
export function registerSecretRoutes(app: FastifyInstance, deps: { secrets?: SecretStore }): void {
  const storeOrThrow = (): SecretStore => {
    if (deps.secrets) return deps.secrets;
    throw new PlatformError(
      'NOT_IMPLEMENTED',
      "this server keeps no secrets (on Kubernetes, create a Secret in the sandbox's namespace with kubectl and reference it by name)",
    );
  };
  const nameOf = (name: string) => parseOrThrow(secretNameSchema, name, 'secret name', 'name');
  const nsOf = (q: unknown) =>
    (q as { namespace?: unknown }).namespace === undefined ? DEFAULT_NAMESPACE : namespaceOf(q);
  const notFound = (ns: string, name: string) =>
    new PlatformError(
      'NOT_FOUND',
      `secret "${name}" not found among your secrets in namespace "${ns}"; list them with \`agenttier secret list\``,
    );
  const owner = (who: Identity) => who.sub;

  app.get<QueryRoute<'namespace'>>('/api/v1/secrets', async (req) => {
    const secrets = storeOrThrow();
    const q = req.query;
    const items = await secrets.list(
      owner(req.identity),
      q.namespace === undefined ? undefined : namespaceOf(q),
    );
    return { items: items.map(secretView) };
  });

  app.get<SecretRoute>('/api/v1/secrets/:name', async (req) => {
    const secrets = storeOrThrow();
    const name = nameOf(req.params.name);
    const ns = nsOf(req.query);
    const meta = await secrets.get(owner(req.identity), ns, name);
    if (!meta) throw notFound(ns, name);
    return secretView(meta);
  });

  app.put<SecretRoute>('/api/v1/secrets/:name', async (req, reply) => {
    const secrets = storeOrThrow();
    const name = nameOf(req.params.name);
    const ns = nsOf(req.query);
    const body = parseOrThrow(secretWriteRequestSchema, req.body ?? {}, 'secret');
    const values = new Map<string, Uint8Array>();
    for (const [k, v] of Object.entries(body.stringData ?? {})) values.set(k, new TextEncoder().encode(v));
    for (const [k, v] of Object.entries(body.data ?? {}))
      values.set(k, new Uint8Array(Buffer.from(v, 'base64')));
    const who = owner(req.identity);
    if (!(await secrets.get(who, ns, name)) && (await secrets.count(who)) >= LIMITS.secretsPerUserMax) {
      throw new PlatformError(
        'QUOTA_EXCEEDED',
        `you have ${LIMITS.secretsPerUserMax} secrets, the most one user may keep; delete some with \`agenttier secret delete\``,
      );
    }
    const { created, meta } = await secrets.put(who, ns, name, values);
    reply.code(created ? 201 : 200);
    return secretView(meta);
  });

  app.delete<SecretRoute>('/api/v1/secrets/:name', async (req, reply) => {
    const secrets = storeOrThrow();
    const name = nameOf(req.params.name);
    const ns = nsOf(req.query);
    if (!(await secrets.delete(owner(req.identity), ns, name))) throw notFound(ns, name);
    reply.code(204);
    return null;
  });
}
