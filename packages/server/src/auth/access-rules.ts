/**
 * The one table of who may call which route. Every route the app registers has an entry here;
 * access-rules.test.ts enumerates the app's route table and fails on a route without one.
 *
 * - `public`: no identity needed (probes and metrics; outside `/api/`).
 * - `authenticated`: any identity; the handler narrows what it shows (lists, own keys).
 * - `admin`: admins only (403 for others): cluster-wide writes such as templates.
 * - `sandbox`: the sandbox named by `:id` (and `?namespace=`) must be the caller's, shared with the
 *   caller, or the caller an admin; anyone else gets the same 404 as for a sandbox that does not
 *   exist. `verb` names what the route does to it: the caller's role (viewer, operator) and a scoped
 *   key's verbs must include it (sandbox-verbs.ts), else 403.
 *
 * `limit` names the per-identity rate limit a route spends (rate-limits.ts).
 * Sandbox-scoped keys may call sandbox routes of their sandbox and `SCOPED_KEY_ROUTES`, nothing else.
 */
import type { SandboxVerb } from './sandbox-verbs.ts';

export type RateLimitClass = 'create' | 'exec' | 'invoke';

export type AccessRule = (
  { kind: 'public' } | { kind: 'authenticated' } | { kind: 'admin' } | { kind: 'sandbox'; verb: SandboxVerb }
) & { limit?: RateLimitClass };

const PUBLIC: AccessRule = { kind: 'public' };
const ANY: AccessRule = { kind: 'authenticated' };
const ADMIN: AccessRule = { kind: 'admin' };
const sb = (verb: SandboxVerb): AccessRule => ({ kind: 'sandbox', verb });
const limited = (rule: AccessRule, limit: RateLimitClass): AccessRule => ({ ...rule, limit });
const S = '/api/v1/sandboxes/:id';

/** The only non-sandbox routes a sandbox-scoped key may call: who am I. */
export const SCOPED_KEY_ROUTES: ReadonlySet<string> = new Set([
  'GET /api/v1/user/me',
  // MCP (routes/mcp.ts): its tool calls are API calls with the same key, confined like any other.
  'POST /mcp',
  'DELETE /mcp',
  'GET /mcp',
]);
const PREVIEW_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'QUERY'];

export const ROUTE_ACCESS: Readonly<Record<string, AccessRule>> = {
  'GET /healthz': PUBLIC,
  'GET /readyz': PUBLIC,
  'GET /metrics': ADMIN,
  // Browser login (auth/session-auth.ts, routes/auth-session.ts): reachable without a credential.
  'GET /api/v1/auth/methods': PUBLIC,
  'POST /api/v1/auth/session': PUBLIC,
  'DELETE /api/v1/auth/session': PUBLIC,
  'GET /api/v1/auth/oidc/login': PUBLIC,
  'GET /api/v1/auth/oidc/callback': PUBLIC,
  // The provider's back-channel logout: the signed logout token is the credential.
  'POST /api/v1/auth/oidc/backchannel-logout': PUBLIC,
  // The web UI's static files (http/web-ui.ts): public like any login page; the data it shows comes
  // from /api/, which authenticates. /api/ and /ws/ paths routed here answer 404.
  'GET /': PUBLIC,
  'GET /*': PUBLIC,
  // MCP over streamable HTTP: any caller; each tool call is an API call checked by its own rule.
  'POST /mcp': ANY,
  'DELETE /mcp': ANY,
  'GET /mcp': ANY,
  'GET /api/v1/openapi.json': ANY,
  'GET /api/v1/user/me': ANY,
  'GET /api/v1/audit/events': ANY,
  'POST /api/v1/user/api-keys': ANY,
  'GET /api/v1/user/api-keys': ANY,
  'DELETE /api/v1/user/api-keys/:keyId': ANY,

  'GET /api/v1/sandboxes': ANY,
  'POST /api/v1/sandboxes': limited(ANY, 'create'),
  [`GET ${S}`]: sb('read'),
  [`PATCH ${S}`]: sb('manage'),
  [`DELETE ${S}`]: sb('manage'),
  [`POST ${S}/stop`]: sb('lifecycle'),
  [`POST ${S}/resume`]: sb('lifecycle'),
  // Viewers may watch a sandbox: its resource use and its events feed are status, like GET.
  [`GET ${S}/usage`]: sb('read'),
  [`GET ${S}/events`]: sb('read'),
  [`GET ${S}/shares`]: sb('share'),
  [`PUT ${S}/shares/:user`]: sb('share'),
  [`DELETE ${S}/shares/:user`]: sb('share'),

  // Secrets: every caller manages their own (the handlers look up by the caller's id only).
  'GET /api/v1/secrets': ANY,
  'GET /api/v1/secrets/:name': ANY,
  'PUT /api/v1/secrets/:name': ANY,
  'DELETE /api/v1/secrets/:name': ANY,

  'GET /api/v1/templates': ANY,
  'GET /api/v1/templates/:name': ANY,
  'POST /api/v1/templates': ADMIN,
  'PUT /api/v1/templates/:name': ADMIN,
  'DELETE /api/v1/templates/:name': ADMIN,

  [`POST ${S}/exec`]: limited(sb('exec'), 'exec'),
  [`POST ${S}/exec/stream`]: limited(sb('exec'), 'exec'),
  [`POST ${S}/processes`]: limited(sb('exec'), 'exec'),
  [`GET ${S}/processes`]: sb('exec'),
  [`GET ${S}/processes/:pid`]: sb('exec'),
  [`GET ${S}/processes/:pid/output`]: sb('exec'),
  [`POST ${S}/processes/:pid/signal`]: sb('exec'),
  [`DELETE ${S}/processes/:pid`]: sb('exec'),

  [`GET ${S}/archive`]: sb('files-read'),
  [`GET ${S}/files/*`]: sb('files-read'),
  [`PUT ${S}/files/*`]: sb('files-write'),
  [`DELETE ${S}/files/*`]: sb('files-write'),
  [`GET ${S}/fs/stat`]: sb('files-read'),
  [`POST ${S}/fs/mkdir`]: sb('files-write'),
  [`POST ${S}/fs/rename`]: sb('files-write'),
  [`GET ${S}/fs/watch`]: sb('files-read'),

  [`GET ${S}/ports`]: sb('read'),
  [`POST ${S}/ports`]: sb('ports'),
  [`DELETE ${S}/ports/:port`]: sb('ports'),
  [`POST ${S}/ports/:port/preview-link`]: sb('ports'),
  ...Object.fromEntries(
    PREVIEW_METHODS.flatMap((m) => [
      [`${m} ${S}/preview/:port`, sb('ports')],
      [`${m} ${S}/preview/:port/*`, sb('ports')],
    ]),
  ),

  [`POST ${S}/configure`]: limited(sb('invoke'), 'invoke'),
  [`GET ${S}/configure/install-log`]: sb('logs'),
  // The install argv it shows is in the install log too, so it is read with the same verb.
  [`GET ${S}/agent/config`]: sb('logs'),
  [`POST ${S}/invoke`]: limited(sb('invoke'), 'invoke'),
  [`POST ${S}/invoke/cancel`]: sb('invoke'),
  [`GET ${S}/invokes`]: sb('logs'),
  [`GET ${S}/invokes/:invokeId`]: sb('logs'),
  [`GET ${S}/invokes/:invokeId/stream`]: sb('logs'),
};

/**
 * The rule of a matched route (HEAD is GET's). A route missing from the table is treated as a
 * sandbox route when it is under `/api/v1/sandboxes/:id`, else as admin-only: fail closed, never open.
 */
export function accessRuleOf(method: string, routeUrl: string): AccessRule {
  const m = method === 'HEAD' ? 'GET' : method;
  const rule = ROUTE_ACCESS[`${m} ${routeUrl}`];
  if (rule) return rule;
  return routeUrl === S || routeUrl.startsWith(`${S}/`) ? sb('manage') : ADMIN;
}
