import type { FastifyInstance } from 'fastify';
import type { Sandbox, SandboxShareView } from '@agenttier/contract';
import {
  PlatformError,
  isPlatformError,
  parseOrThrow,
  shareSandboxRequestSchema,
  userIdSchema,
} from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import { ownerOf } from '../auth/ownership.ts';
import { sandboxOfRequest } from '../auth/request-sandbox.ts';
import { getSandboxOrThrow } from '../sandbox-service.ts';
import type { SandboxRoute } from './route-input.ts';
import { namespaceOf } from './sandboxes.ts';

/** `/api/v1/sandboxes/:id/shares/:user` */
interface ShareRoute {
  Params: { id: string; user: string };
  Querystring: { namespace?: string };
}

type Share = NonNullable<Sandbox['spec']['sharedWith']>[number];

const MAX_SHARES = 64;

function shareView(s: Share): SandboxShareView {
  return { user: s.sub, role: s.role, sharedAt: s.sharedAt, ...(s.sharedBy ? { sharedBy: s.sharedBy } : {}) };
}

/**
 * Sharing a sandbox with other users as viewer or operator (docs/auth.md). The routes' access rule is
 * `share`: owners and admins only. Shares live on the sandbox itself (spec.sharedWith), so they go
 * with it when it is deleted and every access check sees a change at once.
 */
export function registerShareRoutes(app: FastifyInstance, deps: { store: Store }): void {
  const { store } = deps;

  /** Read-modify-write of the share list, retried on concurrent writes (the controller writes too). */
  const updateShares = async (ns: string, name: string, fn: (shares: Share[]) => Share[]) => {
    for (let attempt = 0; ; attempt++) {
      const sb = await getSandboxOrThrow(store, ns, name);
      const next = fn(sb.spec.sharedWith ?? []);
      const spec = { ...sb.spec };
      if (next.length) spec.sharedWith = next;
      else delete spec.sharedWith;
      try {
        return await store.update<Sandbox>({ ...sb, spec });
      } catch (err) {
        if (!isPlatformError(err) || err.code !== 'CONFLICT' || attempt > 5) throw err;
      }
    }
  };

  const userParam = (user: string): string => parseOrThrow(userIdSchema, user, 'path', 'user');

  app.get<SandboxRoute>('/api/v1/sandboxes/:id/shares', async (req) => {
    const sb = await sandboxOfRequest(store, req);
    return { shares: (sb.spec.sharedWith ?? []).map(shareView) };
  });

  app.put<ShareRoute>('/api/v1/sandboxes/:id/shares/:user', async (req) => {
    const user = userParam(req.params.user);
    const { role } = parseOrThrow(shareSandboxRequestSchema, req.body ?? {}, 'share');
    const sb = await sandboxOfRequest(store, req);
    if (user === ownerOf(sb))
      throw new PlatformError(
        'BAD_REQUEST',
        `${user} owns sandbox ${sb.metadata.name}; owners are not shared with`,
      );
    const share: Share = { sub: user, role, sharedAt: new Date().toISOString(), sharedBy: req.identity.sub };
    const { id } = req.params;
    await updateShares(namespaceOf(req.query), id, (shares) => {
      const others = shares.filter((s) => s.sub !== user);
      if (others.length >= MAX_SHARES)
        throw new PlatformError(
          'QUOTA_EXCEEDED',
          `sandbox ${id} is shared with ${MAX_SHARES} users already; revoke a share first`,
          { extra: { limit: MAX_SHARES } },
        );
      return [...others, share];
    });
    return shareView(share);
  });

  app.delete<ShareRoute>('/api/v1/sandboxes/:id/shares/:user', async (req, reply) => {
    const user = userParam(req.params.user);
    const { id } = req.params;
    // Idempotent, like removing a port forward: revoking a share that is not there is done already.
    await updateShares(namespaceOf(req.query), id, (shares) => shares.filter((s) => s.sub !== user));
    reply.code(204);
    return null;
  });
}
