import { z } from 'zod';

/** `GET /api/v1/user/me`: who the server takes the caller to be. */
export interface UserInfo {
  id: string;
  /** The same as `id`, under the name the seed product's clients read (its Python SDK's `CurrentUser.sub`). */
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
  isAdmin: boolean;
  /** Present when the caller is a sandbox-scoped key: the one sandbox and the verbs it may use. */
  scope?: KeyScopeView;
  /** How this request proved who it is (docs/auth.md). */
  authMethod?: 'api-key' | 'session' | 'oidc' | 'service-account' | 'dev';
}

/**
 * Verbs a sandbox-scoped key can be given (docs/auth.md): `files` reads and writes files,
 * `files-read` only reads them; `invoke` includes reading invoke records. A scoped key can never
 * delete, change or share its sandbox, nor do anything outside it.
 */
export const SCOPED_KEY_VERBS = [
  'read',
  'logs',
  'files-read',
  'files',
  'exec',
  'invoke',
  'terminal',
  'ports',
  'lifecycle',
] as const;
export type ScopedKeyVerb = (typeof SCOPED_KEY_VERBS)[number];

/** The sandbox a scoped key is limited to. */
export interface KeyScopeView {
  namespace: string;
  sandbox: string;
  verbs: ScopedKeyVerb[];
}

/** Roles a sandbox can be shared with: viewer reads, operator works in it (docs/auth.md). */
export const SANDBOX_ROLES = ['viewer', 'operator'] as const;
export type SandboxRole = (typeof SANDBOX_ROLES)[number];

/** How the caller may act on a sandbox, as lists and gets show it. */
export type SandboxAccessLevel = 'admin' | 'owner' | SandboxRole;

/** One user a sandbox is shared with. */
export interface SandboxShareView {
  user: string;
  role: SandboxRole;
  sharedAt: string;
  sharedBy?: string;
}

/** An API key as listed: never the key itself, which is shown once, in the create response. */
export interface ApiKeyView {
  id: string;
  name: string;
  owner: { id: string; email?: string; name?: string };
  isAdmin: boolean;
  createdAt: string;
  lastUsedAt?: string;
  expiresAt?: string;
  /** A sandbox-scoped key's sandbox and verbs. */
  scope?: KeyScopeView;
}

/** The create response: the view plus the key, the only time it is ever shown. */
export interface CreatedApiKey extends ApiKeyView {
  key: string;
}

/** Longest a key may live: ten years (keys without an expiry never expire). */
export const MAX_API_KEY_DAYS = 3650;

export const userIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._@+-]+$/, 'letters, digits and . _ @ + -');

export const createApiKeyRequestSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\x20-\x7e]+$/, 'printable ASCII'),
  /** Days until the key stops working; absent: never. */
  expiresInDays: z.number().int().min(1).max(MAX_API_KEY_DAYS).optional(),
  /** Admins only: issue the key to another user (who the key then acts as). */
  user: z
    .strictObject({
      id: userIdSchema,
      email: z.string().max(254).optional(),
      name: z.string().max(128).optional(),
      groups: z.array(z.string().min(1).max(128)).max(64).optional(),
      isAdmin: z.boolean().optional(),
    })
    .optional(),
  /** Limits the key to this one sandbox (with `verbs`): a key to hand to an agent. */
  sandbox: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a sandbox name')
    .optional(),
  /** The sandbox's namespace (with `sandbox`). @default default */
  namespace: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a namespace name')
    .optional(),
  /** What a sandbox-scoped key may do there (with `sandbox`). */
  verbs: z.array(z.enum(SCOPED_KEY_VERBS)).min(1).max(SCOPED_KEY_VERBS.length).optional(),
});
export type CreateApiKeyRequest = z.infer<typeof createApiKeyRequestSchema>;

/** `PUT /api/v1/sandboxes/{name}/shares/{user}`. */
export const shareSandboxRequestSchema = z.strictObject({ role: z.enum(SANDBOX_ROLES) });
export type ShareSandboxRequest = z.infer<typeof shareSandboxRequestSchema>;

/** `POST /api/v1/auth/session`: who logged in, until when, and the binding to send with every request. */
export interface SessionLoginResult {
  user: { id: string; email?: string; name?: string; groups: string[]; isAdmin: boolean };
  /** RFC 3339: when the session cookie stops working. */
  expiresAt: string;
  /** The session binding (43 base64url characters) to send in `X-AgentTier-Session-Binding`. */
  binding: string;
}

/** `POST /api/v1/auth/oidc/backchannel-logout`: how many browser sessions the logout token ended. */
export interface BackchannelLogoutResult {
  ended: number;
}

/** Credentials longer than this are refused before any parsing or hashing (docs/auth.md). */
export const MAX_CREDENTIAL_BYTES = 8 * 1024;

/** `POST /api/v1/auth/session`: the browser login body. A key too long to be one is refused as a bad credential, not parsed. */
export const sessionLoginRequestSchema = z.strictObject({
  apiKey: z.string().min(1).max(MAX_CREDENTIAL_BYTES),
});
export type SessionLoginRequest = z.infer<typeof sessionLoginRequestSchema>;

/**
 * The browser-session binding (docs/auth.md, "Session binding"): a random value the web UI keeps in its
 * own origin's storage and sends with every request its session cookie authenticates. Cookies ignore
 * ports, so a page on another port of the router's host can plant a session cookie; it cannot read or
 * write the UI origin's storage, so it cannot supply the binding that goes with its cookie.
 */
export const SESSION_BINDING_HEADER = 'x-agenttier-session-binding';
/**
 * A browser WebSocket cannot send headers: the UI offers the binding as a second subprotocol
 * `agenttier.binding.<value>` next to {@link SESSION_BINDING_WS_PROTOCOL}, which the router selects
 * (the binding is never echoed back, and never sits in a URL or an access log).
 */
export const SESSION_BINDING_WS_PROTOCOL = 'agenttier';
export const SESSION_BINDING_WS_PREFIX = 'agenttier.binding.';
/** 32 random bytes, base64url without padding (43 characters; every one a valid subprotocol character). */
export const SESSION_BINDING_RE = /^[A-Za-z0-9_-]{43}$/;
