import type { FastifyInstance } from 'fastify';
import type { SandboxEventList } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { SandboxEventFeed, Store } from '@agenttier/core';
import { sandboxOfRequest } from '../auth/request-sandbox.ts';
import type { SandboxRoute } from '../routes/route-input.ts';

/**
 * `GET /api/v1/sandboxes/{id}/events`: what happened to the sandbox (phase changes, back-offs, …),
 * Kubernetes-style, oldest first. Without a feed (the in-process development app) it is 501.
 */
export function registerEventRoutes(
  app: FastifyInstance,
  deps: { store: Store; events?: SandboxEventFeed | undefined },
): void {
  app.get<SandboxRoute>('/api/v1/sandboxes/:id/events', async (req, reply): Promise<SandboxEventList> => {
    const sb = await sandboxOfRequest(deps.store, req);
    if (!deps.events)
      throw new PlatformError(
        'NOT_IMPLEMENTED',
        'this server keeps no sandbox events (no event feed configured)',
      );
    reply.header('cache-control', 'no-store');
    return { events: await deps.events.list(sb) };
  });
}
