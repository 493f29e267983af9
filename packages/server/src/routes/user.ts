import type { FastifyInstance } from 'fastify';
import type { ApiKeyView, CreatedApiKey, KeyScopeView, ScopedKeyVerb, UserInfo } from '@agenttier/contract';
import type { CreateApiKeyRequest, Sandbox } from '@agenttier/contract';
import {
  DEFAULT_NAMESPACE,
  PlatformError,
  SCOPED_KEY_VERBS,
  createApiKeyRequestSchema,
  parseOrThrow,
} from '@agenttier/contract';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore, Principal } from '@agenttier/core';
import { generateApiKey, hashApiKey, newKeyId } from '../auth/api-key-format.ts';
import type { Identity } from '../context.ts';
import type { QueryRoute } from './route-input.ts';
import type { AccessControl } from '../auth/access-control.ts';
import { KEY_VERB_GRANTS } from '../auth/sandbox-verbs.ts';

export interface UserRouteDeps {
  /** Checks that the creator of a sandbox-scoped key may do what it hands out. */
  access: AccessControl;
  /** Absent: the server has no key store (the key routes answer 501). */
  keys?: ApiKeyStore;
  /** Drops a revoked key from the authenticator's cache, so revocation takes effect at once. */
  forgetKey?: (keyId: string) => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const KEY_ID_RE = /^key_[0-9a-f]{16}$/;

function userInfo(who: Identity): UserInfo {
  return {
    id: who.sub,
    sub: who.sub,
    ...(who.email !== undefined ? { email: who.email } : {}),
    ...(who.name !== undefined ? { name: who.name } : {}),
    groups: who.groups,
    isAdmin: who.isAdmin,
    ...(who.scope ? { scope: scopeView(who.scope) } : {}),
    ...(who.via ? { authMethod: who.via } : {}),
  };
}

function scopeView(s: ApiKeyScope): KeyScopeView {
  return { namespace: s.namespace, sandbox: s.sandbox, verbs: s.verbs as ScopedKeyVerb[] };
}

function keyView(r: ApiKeyRecord): ApiKeyView {
  return {
    id: r.id,
    name: r.name,
    owner: {
      id: r.owner.id,
      ...(r.owner.email !== undefined ? { email: r.owner.email } : {}),
      ...(r.owner.name !== undefined ? { name: r.owner.name } : {}),
    },
    isAdmin: r.owner.isAdmin,
    createdAt: r.createdAt,
    ...(r.lastUsedAt ? { lastUsedAt: r.lastUsedAt } : {}),
    ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}),
    ...(r.scope ? { scope: scopeView(r.scope) } : {}),
  };
}

export function registerUserRoutes(app: FastifyInstance, deps: UserRouteDeps): void {
  const keysOrThrow = (): ApiKeyStore => {
    if (!deps.keys)
      throw new PlatformError(
        'NOT_IMPLEMENTED',
        'this server authenticates without API keys (development authentication), so it has none to manage',
      );
    return deps.keys;
  };

  /**
   * The scope of a sandbox-scoped key being created: the creator must be able to do everything the key
   * hands out (an operator cannot mint a key with more than operator rights), checked now and again on
   * every use through the creator's current access.
   */
  const scopeOf = async (body: CreateApiKeyRequest, who: Identity): Promise<ApiKeyScope | undefined> => {
    if (body.sandbox === undefined) {
      if (body.verbs !== undefined || body.namespace !== undefined)
        throw new PlatformError(
          'BAD_REQUEST',
          '"verbs" and "namespace" go with "sandbox" (a sandbox-scoped key)',
        );
      return undefined;
    }
    if (body.verbs === undefined)
      throw new PlatformError(
        'BAD_REQUEST',
        `a sandbox-scoped key needs "verbs": some of ${SCOPED_KEY_VERBS.join(', ')}`,
      );
    if (body.user)
      throw new PlatformError('BAD_REQUEST', 'a sandbox-scoped key acts as its creator; leave out "user"');
    const namespace = body.namespace ?? DEFAULT_NAMESPACE;
    const verbs = [...new Set(body.verbs)];
    let sb: Sandbox | undefined;
    for (const v of verbs)
      for (const routeVerb of KEY_VERB_GRANTS[v])
        sb = await deps.access.requireSandbox(who, namespace, body.sandbox, routeVerb);
    return { namespace, sandbox: body.sandbox, ...(sb?.metadata.uid ? { uid: sb.metadata.uid } : {}), verbs };
  };

  app.get('/api/v1/user/me', async (req) => userInfo(req.identity));

  app.post('/api/v1/user/api-keys', async (req, reply) => {
    const keys = keysOrThrow();
    const body = parseOrThrow(createApiKeyRequestSchema, req.body ?? {}, 'api key');
    const who = req.identity;
    if (body.user && !who.isAdmin)
      throw new PlatformError('FORBIDDEN', 'only admins may issue keys to other users; leave out "user"');
    // A key acts as its owner and never as more: a user's own key carries the user's own rights.
    const owner: Principal = body.user
      ? {
          id: body.user.id,
          ...(body.user.email !== undefined ? { email: body.user.email } : {}),
          ...(body.user.name !== undefined ? { name: body.user.name } : {}),
          groups: body.user.groups ?? [],
          isAdmin: body.user.isAdmin ?? false,
        }
      : {
          id: who.sub,
          ...(who.email !== undefined ? { email: who.email } : {}),
          ...(who.name !== undefined ? { name: who.name } : {}),
          groups: who.groups,
          isAdmin: who.isAdmin,
        };
    const scope = await scopeOf(body, who);
    const key = generateApiKey();
    const now = Date.now();
    const record: ApiKeyRecord = {
      id: newKeyId(),
      name: body.name,
      hash: hashApiKey(key),
      owner,
      createdAt: new Date(now).toISOString(),
      ...(body.expiresInDays ? { expiresAt: new Date(now + body.expiresInDays * DAY_MS).toISOString() } : {}),
      ...(scope ? { scope } : {}),
    };
    await keys.insert(record);
    reply.code(201);
    const created: CreatedApiKey = { ...keyView(record), key };
    return created;
  });

  app.get<QueryRoute<'all'>>('/api/v1/user/api-keys', async (req) => {
    const keys = keysOrThrow();
    const q = req.query;
    const all = q.all === 'true' || q.all === '1';
    if (all && !req.identity.isAdmin) throw new PlatformError('FORBIDDEN', 'only admins may list every key');
    const items = await keys.list(all ? undefined : req.identity.sub);
    return { items: items.map(keyView) };
  });

  app.delete<{ Params: { keyId: string } }>('/api/v1/user/api-keys/:keyId', async (req, reply) => {
    const keys = keysOrThrow();
    const { keyId } = req.params;
    // Someone else's key is as absent as a missing one: no telling which ids exist.
    const notFound = () => new PlatformError('NOT_FOUND', `no API key "${keyId.slice(0, 40)}" of yours`);
    if (!KEY_ID_RE.test(keyId)) throw notFound();
    const record = await keys.get(keyId);
    if (!record || (record.owner.id !== req.identity.sub && !req.identity.isAdmin)) throw notFound();
    await keys.remove(keyId);
    deps.forgetKey?.(keyId);
    reply.code(204);
    return null;
  });
}
