import { z } from 'zod';
import type {
  ApiKeyView,
  BackchannelLogoutResult,
  CreatedApiKey,
  SandboxShareView,
  SessionLoginResult,
  UserInfo,
} from './auth.ts';
import { SANDBOX_ROLES, SCOPED_KEY_VERBS } from './auth.ts';
import type { Same } from './responses.ts';
import type { SecretView } from './secrets.ts';
import type { AuditEvent, AuditEventPage, AuthMethods } from './wire.ts';

/**
 * Response bodies of the user, API-key, sharing, secret, audit and login routes as zod schemas, for
 * the OpenAPI document; each compiled against its contract type (the `_same…` lines) and strict, as
 * in responses.ts (server/src/openapi.test.ts parses real answers with them).
 */

const keyScopeSchema = z.strictObject({
  namespace: z.string(),
  sandbox: z.string(),
  verbs: z.array(z.enum(SCOPED_KEY_VERBS)),
});

export const userInfoSchema = z.strictObject({
  id: z.string(),
  sub: z.string().describe('the same as id (the seed product’s name for it)'),
  email: z.string().optional(),
  name: z.string().optional(),
  groups: z.array(z.string()),
  isAdmin: z.boolean(),
  scope: keyScopeSchema.optional().describe('a sandbox-scoped key: its sandbox and verbs'),
  authMethod: z.enum(['api-key', 'session', 'oidc', 'service-account', 'dev']).optional(),
});

export const apiKeyViewSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  owner: z.strictObject({ id: z.string(), email: z.string().optional(), name: z.string().optional() }),
  isAdmin: z.boolean(),
  createdAt: z.string(),
  lastUsedAt: z.string().optional(),
  expiresAt: z.string().optional(),
  scope: keyScopeSchema.optional(),
});

export const createdApiKeySchema = z.strictObject({
  ...apiKeyViewSchema.shape,
  key: z.string().describe('the key itself: shown in this answer only'),
});

export const apiKeyListSchema = z.strictObject({ items: z.array(apiKeyViewSchema) });

export const sandboxShareSchema = z.strictObject({
  user: z.string(),
  role: z.enum(SANDBOX_ROLES),
  sharedAt: z.string(),
  sharedBy: z.string().optional(),
});

export const sandboxShareListSchema = z.strictObject({ shares: z.array(sandboxShareSchema) });

export const authMethodsSchema = z.strictObject({
  apiKey: z.boolean(),
  oidc: z.boolean(),
  oidcLoginUrl: z.string().optional(),
  oidcCli: z
    .strictObject({ issuer: z.string(), clientId: z.string(), scopes: z.array(z.string()).optional() })
    .optional(),
});

export const sessionLoginResultSchema = z.strictObject({
  user: z.strictObject({
    id: z.string(),
    email: z.string().optional(),
    name: z.string().optional(),
    groups: z.array(z.string()),
    isAdmin: z.boolean(),
  }),
  expiresAt: z.string(),
  binding: z.string().describe('send it in X-AgentTier-Session-Binding with every request'),
});

export const backchannelLogoutResultSchema = z.strictObject({
  ended: z.number().int().nonnegative().describe('browser sessions ended'),
});

export const secretViewSchema = z.strictObject({
  name: z.string(),
  namespace: z.string(),
  keys: z.array(z.string()).describe('sorted; never a value'),
  owner: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const secretListSchema = z.strictObject({ items: z.array(secretViewSchema) });

export const auditEventSchema = z.strictObject({
  id: z.number().int().describe('increasing: the paging cursor'),
  at: z.string(),
  actor: z.string().optional(),
  keyId: z.string().optional(),
  action: z.string().describe('method and route template, e.g. POST /api/v1/sandboxes/:id/exec'),
  target: z.string().optional(),
  detail: z.string().optional(),
  status: z.number().int(),
  requestId: z.string(),
  source: z.string(),
});

export const auditEventPageSchema = z.strictObject({
  events: z.array(auditEventSchema),
  next: z.number().int().optional().describe("present when there may be more: the next page's before"),
});

const _sameUserInfo: Same<z.output<typeof userInfoSchema>, UserInfo> = true;
const _sameApiKeyView: Same<z.output<typeof apiKeyViewSchema>, ApiKeyView> = true;
const _sameCreatedApiKey: Same<z.output<typeof createdApiKeySchema>, CreatedApiKey> = true;
const _sameShare: Same<z.output<typeof sandboxShareSchema>, SandboxShareView> = true;
const _sameAuthMethods: Same<z.output<typeof authMethodsSchema>, AuthMethods> = true;
const _sameSessionLogin: Same<z.output<typeof sessionLoginResultSchema>, SessionLoginResult> = true;
const _sameBackchannel: Same<z.output<typeof backchannelLogoutResultSchema>, BackchannelLogoutResult> = true;
const _sameSecretView: Same<z.output<typeof secretViewSchema>, SecretView> = true;
const _sameAuditEvent: Same<z.output<typeof auditEventSchema>, AuditEvent> = true;
const _sameAuditPage: Same<z.output<typeof auditEventPageSchema>, AuditEventPage> = true;
