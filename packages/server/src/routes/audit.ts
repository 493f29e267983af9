import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlatformError } from '@agenttier/contract';
import type { AuditLog } from '@agenttier/core';
import type { QueryRoute } from './route-input.ts';
import { stringField } from './route-input.ts';

const MAX_PAGE = 500;

/** What a request acted on, from its route parameters (never its body). */
function targetOf(req: FastifyRequest): string | undefined {
  const url = req.routeOptions.url ?? '';
  const p = {
    id: stringField(req.params, 'id'),
    keyId: stringField(req.params, 'keyId'),
    name: stringField(req.params, 'name'),
  };
  const ns = stringField(req.query, 'namespace') || 'default';
  if (url.startsWith('/api/v1/sandboxes/:id') && p.id) return `sandbox:${ns}/${p.id}`.slice(0, 300);
  if (url.startsWith('/api/v1/user/api-keys/:keyId') && p.keyId) return `apikey:${p.keyId}`.slice(0, 100);
  if (url.startsWith('/api/v1/templates/:name') && p.name) return `template:${p.name}`.slice(0, 300);
  if (url.startsWith('/api/v1/secrets/:name') && p.name) return `secret:${ns}/${p.name}`.slice(0, 300);
  return undefined;
}

/** State-changing calls and refused authentications and authorizations are recorded. */
function audited(req: FastifyRequest, status: number): boolean {
  if (!req.url.startsWith('/api/')) return false;
  if (status === 401 || status === 403 || status === 429) return true;
  // An OIDC login is a GET (the provider redirects the browser there) that starts a session.
  if (req.routeOptions.url === '/api/v1/auth/oidc/callback') return true;
  return !(req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS');
}

/** Records each audited request when its answer is sent; a failing write is logged, never answered. */
export function installAuditHook(app: FastifyInstance, log: AuditLog): void {
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!audited(req, reply.statusCode)) return;
    const who = req.identity as FastifyRequest['identity'] | null;
    const target = targetOf(req);
    await log
      .record({
        at: new Date().toISOString(),
        ...(who ? { actor: who.sub } : {}),
        ...(who?.keyId ? { keyId: who.keyId } : {}),
        action: `${req.method} ${req.routeOptions.url ?? 'unmatched'}`,
        ...(target ? { target } : {}),
        status: reply.statusCode,
        requestId: String(req.id),
        source: req.ip,
      })
      .catch((err: unknown) => req.log.error({ err: String(err) }, 'audit write failed'));
  });
}

export function registerAuditRoutes(app: FastifyInstance, deps: { log?: AuditLog }): void {
  app.get<QueryRoute<'actor' | 'target' | 'before' | 'limit'>>('/api/v1/audit/events', async (req) => {
    if (!deps.log)
      throw new PlatformError(
        'NOT_IMPLEMENTED',
        'this server keeps no audit trail (no audit log configured)',
      );
    const q = req.query;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
      throw new PlatformError('BAD_REQUEST', `limit must be an integer from 1 to ${MAX_PAGE}`);
    const before = q.before === undefined ? undefined : Number(q.before);
    if (before !== undefined && !(Number.isInteger(before) && before > 0))
      throw new PlatformError(
        'BAD_REQUEST',
        'before must be a positive event id (the last id of the previous page)',
      );
    // Users see their own events; admins anyone's.
    if (q.actor !== undefined && q.actor !== req.identity.sub && !req.identity.isAdmin)
      throw new PlatformError('FORBIDDEN', "only admins may read other users' audit events");
    const actor = req.identity.isAdmin ? q.actor : req.identity.sub;
    const events = await deps.log.query({
      ...(actor !== undefined ? { actor } : {}),
      ...(q.target ? { target: q.target } : {}),
      ...(before !== undefined ? { beforeId: before } : {}),
      limit,
    });
    return { events, ...(events.length === limit ? { next: events[events.length - 1]!.id } : {}) };
  });
}
