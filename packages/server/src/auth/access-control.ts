import type { FastifyRequest } from 'fastify';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { Identity } from '../context.ts';
import { stringField } from '../routes/route-input.ts';
import { namespaceOf } from '../routes/sandboxes.ts';
import { getSandboxOrThrow, sandboxNotFound } from '../sandbox-service.ts';
import { SCOPED_KEY_ROUTES, accessRuleOf } from './access-rules.ts';
import { accessOf, inScope } from './ownership.ts';
import type { SandboxVerb } from './sandbox-verbs.ts';
import { keyVerbsAllow, levelAllows } from './sandbox-verbs.ts';

export interface AccessControl {
  /**
   * Checks a routed request against its declared rule (after authentication); throws 403/404. On a
   * sandbox route it leaves the sandbox it read in `req.sandbox` for the handler.
   */
  authorizeRoute(req: FastifyRequest): Promise<void>;
  /**
   * Checks that `who` may `verb` sandbox `namespace/name` and returns it. Someone with no access gets
   * the same SANDBOX_NOT_FOUND a missing sandbox gets (a stranger cannot tell someone else's sandbox
   * from none); someone whose role or key lacks the verb gets 403. For WebSockets and previews,
   * which are not Fastify routes, and for minting scoped keys.
   */
  requireSandbox(who: Identity, namespace: string, name: string, verb: SandboxVerb): Promise<Sandbox>;
}

/** Why a scoped key is refused outside its sandbox: says what the key is for. */
function outOfScope(who: Identity, what: string): PlatformError {
  const s = who.scope!;
  return new PlatformError(
    'FORBIDDEN',
    `API key ${who.keyId ?? ''} is limited to sandbox ${s.namespace}/${s.sandbox} (${s.verbs.join(', ')}); it may not ${what}`,
  );
}

/** Throws unless `who` may `verb` this sandbox (it exists: the caller read it). */
export function authorizeSandbox(who: Identity, sb: Sandbox, verb: SandboxVerb): void {
  const ns = sb.metadata.namespace ?? 'default';
  const level = accessOf(who, sb);
  // No access, or a scoped key of another sandbox: exactly as if it did not exist.
  if (level === undefined || !inScope(who, sb)) throw sandboxNotFound(ns, sb.metadata.name);
  if (!levelAllows(level, verb))
    throw new PlatformError(
      'FORBIDDEN',
      `sandbox ${ns}/${sb.metadata.name} is shared with you as ${level}, which may not ${verb}`,
    );
  if (who.scope && !keyVerbsAllow(who.scope.verbs, verb)) throw outOfScope(who, verb);
}

/** Whether `who`, who may see `sb`, may also `verb` it (no throw: to pick a mode, not to refuse). */
export function sandboxAllows(who: Identity, sb: Sandbox, verb: SandboxVerb): boolean {
  try {
    authorizeSandbox(who, sb, verb);
    return true;
  } catch {
    return false;
  }
}

export function createAccessControl(store: Store): AccessControl {
  const requireSandbox = async (
    who: Identity,
    namespace: string,
    name: string,
    verb: SandboxVerb,
  ): Promise<Sandbox> => {
    // A scoped key never learns whether another sandbox exists: refused before the store is read.
    if (who.scope && (who.scope.namespace !== namespace || who.scope.sandbox !== name))
      throw sandboxNotFound(namespace, name);
    const sb = await getSandboxOrThrow(store, namespace, name);
    authorizeSandbox(who, sb, verb);
    return sb;
  };

  return {
    requireSandbox,
    async authorizeRoute(req) {
      const url = req.routeOptions.url;
      if (url === undefined) return; // no route: the not-found handler answers
      const rule = accessRuleOf(req.method, url);
      if (rule.kind === 'public') return;
      const who = req.identity;
      if (rule.kind === 'authenticated') {
        const route = `${req.method === 'HEAD' ? 'GET' : req.method} ${url}`;
        if (who.scope && !SCOPED_KEY_ROUTES.has(route)) throw outOfScope(who, `call ${route}`);
        return;
      }
      if (rule.kind === 'admin') {
        if (who.scope) throw outOfScope(who, `call ${req.method} ${url}`);
        if (!who.isAdmin) throw new PlatformError('FORBIDDEN', `only admins may ${req.method} ${url}`);
        return;
      }
      const id = stringField(req.params, 'id');
      if (id === undefined) throw new PlatformError('FORBIDDEN', `route ${url} names no sandbox`);
      req.sandbox = await requireSandbox(who, namespaceOf(req.query), id, rule.verb);
    },
  };
}
