import type { FastifyRequest } from 'fastify';
import { PlatformError } from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { Identity } from '../context.ts';
import { stringField } from '../routes/route-input.ts';
import { namespaceOf } from '../routes/sandboxes.ts';
import { getSandboxOrThrow, sandboxNotFound } from '../sandbox-service.ts';
import { accessRuleOf } from './access-rules.ts';
import { mayActOn } from './ownership.ts';

export interface AccessControl {
  /** Checks a routed request against its declared rule (after authentication); throws 403/404. */
  authorizeRoute(req: FastifyRequest): Promise<void>;
  /**
   * Checks that `who` may act on sandbox `namespace/name`: throws the same SANDBOX_NOT_FOUND a missing
   * sandbox gets, so a stranger cannot tell someone else's sandbox from none. For WebSockets and
   * previews, which are not Fastify routes.
   */
  requireSandbox(who: Identity, namespace: string, name: string): Promise<void>;
}

export function createAccessControl(store: Store): AccessControl {
  const requireSandbox = async (who: Identity, namespace: string, name: string): Promise<void> => {
    const sb = await getSandboxOrThrow(store, namespace, name);
    if (!mayActOn(who, sb)) throw sandboxNotFound(namespace, name);
  };

  return {
    requireSandbox,
    async authorizeRoute(req) {
      const url = req.routeOptions.url;
      if (url === undefined) return; // no route: the not-found handler answers
      const rule = accessRuleOf(req.method, url);
      if (rule.kind === 'public' || rule.kind === 'authenticated') return;
      if (rule.kind === 'admin') {
        if (!req.identity.isAdmin)
          throw new PlatformError('FORBIDDEN', `only admins may ${req.method} ${url}`);
        return;
      }
      const id = stringField(req.params, 'id');
      if (id === undefined) throw new PlatformError('FORBIDDEN', `route ${url} names no sandbox`);
      await requireSandbox(req.identity, namespaceOf(req.query), id);
    },
  };
}
