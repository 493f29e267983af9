import type { ApiOperation } from '@agenttier/contract';
import {
  configureRequestSchema,
  createApiKeyRequestSchema,
  shareSandboxRequestSchema,
  createSandboxRequestSchema,
  execRequestSchema,
  agentConfigViewSchema,
  execResponseSchema,
  invokeListSchema,
  invokeRecordSchema,
  patchSandboxResponseSchema,
  portListSchema,
  portViewSchema,
  previewLinkSchema,
  processInfoSchema,
  processListSchema,
  sandboxListSchema,
  sandboxViewSchema,
  stopResumeResponseSchema,
  templateListSchema,
  templateViewSchema,
  apiKeyListSchema,
  auditEventPageSchema,
  authMethodsSchema,
  backchannelLogoutResultSchema,
  createdApiKeySchema,
  fileEntrySchema,
  fileListSchema,
  fileWriteResultSchema,
  installLogSchema,
  openApiDocumentSchema,
  sandboxEventListSchema,
  sandboxShareListSchema,
  sandboxShareSchema,
  sandboxUsageSchema,
  secretListSchema,
  secretViewSchema,
  sessionLoginResultSchema,
  userInfoSchema,
  forwardedPortSchema,
  invokeCancelRequestSchema,
  mkdirRequestSchema,
  openApiDocument,
  patchSandboxRequestSchema,
  previewLinkRequestSchema,
  renameRequestSchema,
  sessionLoginRequestSchema,
  signalRequestSchema,
  startProcessRequestSchema,
  secretWriteRequestSchema,
  templateWriteRequestSchema,
} from '@agenttier/contract';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';

const NS = { namespace: 'the namespace (default: default)' };
const json = (description: string, status = 200, schema?: z.ZodType) => ({
  status,
  description,
  ...(schema ? { schema } : {}),
});
const sse = (description: string) => ({ status: 200, description, contentType: 'text/event-stream' });
const none = (description: string) => ({ status: 204, description });
const S = '/api/v1/sandboxes/{id}';

/**
 * Every REST operation of the router with the schema its route validates the body with. The document
 * at /api/v1/openapi.json is built from this list; openapi.test.ts fails when a route is registered
 * that is not here, or listed here but not registered.
 */
export const API_OPERATIONS: readonly ApiOperation[] = [
  {
    method: 'GET',
    path: '/api/v1/sandboxes',
    tag: 'sandboxes',
    summary: 'List sandboxes',
    query: { ...NS, status: 'only sandboxes in this phase' },
    success: json('{sandboxes: [...]}', 200, sandboxListSchema),
  },
  {
    method: 'POST',
    path: '/api/v1/sandboxes',
    tag: 'sandboxes',
    summary: 'Create a sandbox (answers at once, phase Creating)',
    body: createSandboxRequestSchema,
    success: json('the sandbox', 201, sandboxViewSchema),
  },
  {
    method: 'GET',
    path: S,
    tag: 'sandboxes',
    summary: 'Get a sandbox',
    query: NS,
    success: json('the sandbox', 200, sandboxViewSchema),
  },
  {
    method: 'PATCH',
    path: S,
    tag: 'sandboxes',
    summary: 'Change timeouts, labels or annotations',
    query: NS,
    body: patchSandboxRequestSchema,
    success: json(
      '{sandboxId, applied, restartRequired, message?, sandbox}',
      200,
      patchSandboxResponseSchema,
    ),
  },
  {
    method: 'DELETE',
    path: S,
    tag: 'sandboxes',
    summary: 'Delete a sandbox and its workspace (idempotent)',
    query: NS,
    success: none('deleting'),
  },
  {
    method: 'POST',
    path: `${S}/stop`,
    tag: 'sandboxes',
    summary: 'Stop (the workspace is kept)',
    query: NS,
    success: json("{status: 'stopping', sandbox}", 200, stopResumeResponseSchema),
  },
  {
    method: 'POST',
    path: `${S}/resume`,
    tag: 'sandboxes',
    summary: 'Resume a stopped sandbox',
    query: NS,
    success: json("{status: 'resuming', sandbox}", 200, stopResumeResponseSchema),
  },
  {
    method: 'GET',
    path: `${S}/usage`,
    tag: 'sandboxes',
    summary: 'CPU, memory, pids and workspace use of a running sandbox, measured now (cached ~1 s)',
    query: NS,
    success: json(
      '{sandboxId, namespace, sampledAt, cgroup, cpu, memory, pids, storage, unavailable}',
      200,
      sandboxUsageSchema,
    ),
  },
  {
    method: 'GET',
    path: `${S}/events`,
    tag: 'sandboxes',
    summary: 'What happened to the sandbox (Kubernetes-style events), oldest first',
    query: NS,
    success: json(
      '{events: [{type, reason, message, count, firstTimestamp, lastTimestamp, source?}]}',
      200,
      sandboxEventListSchema,
    ),
  },
  {
    method: 'GET',
    path: `${S}/shares`,
    tag: 'sandboxes',
    summary: 'Users the sandbox is shared with, and their roles (owners and admins)',
    query: NS,
    success: json('{shares: [{user, role, sharedAt, sharedBy}]}', 200, sandboxShareListSchema),
  },
  {
    method: 'PUT',
    path: `${S}/shares/{user}`,
    tag: 'sandboxes',
    summary: 'Share the sandbox with a user as viewer or operator (owners and admins)',
    query: NS,
    body: shareSandboxRequestSchema,
    success: json('{user, role, sharedAt, sharedBy}', 200, sandboxShareSchema),
  },
  {
    method: 'DELETE',
    path: `${S}/shares/{user}`,
    tag: 'sandboxes',
    summary: 'Stop sharing the sandbox with a user (takes effect at once; idempotent)',
    query: NS,
    success: none('revoked'),
  },

  {
    method: 'GET',
    path: '/api/v1/audit/events',
    tag: 'user',
    summary: "Audit events, newest first (users: their own; admins: anyone's)",
    query: {
      actor: 'only this user (admins)',
      target: 'only this target, e.g. sandbox:default/demo',
      before: "only events with a lower id (paging: the previous answer's next)",
      limit: '1-500, default 100',
    },
    success: json('{events: [...], next?}', 200, auditEventPageSchema),
  },
  {
    method: 'GET',
    path: '/api/v1/user/me',
    tag: 'user',
    summary: 'Who the server takes the caller to be',
    success: json('{id, sub, email, name, groups, isAdmin, scope?}', 200, userInfoSchema),
  },
  {
    method: 'POST',
    path: '/api/v1/user/api-keys',
    tag: 'user',
    summary: 'Create an API key (the key is in this response only)',
    body: createApiKeyRequestSchema,
    success: json('the key view plus `key`', 201, createdApiKeySchema),
  },
  {
    method: 'GET',
    path: '/api/v1/user/api-keys',
    tag: 'user',
    summary: "List the caller's API keys (admins: every key with ?all=true)",
    query: { all: "true: every user's keys (admins only)" },
    success: json('{items: [...]}', 200, apiKeyListSchema),
  },
  {
    method: 'DELETE',
    path: '/api/v1/user/api-keys/{keyId}',
    tag: 'user',
    summary: 'Revoke an API key at once (own keys; admins: any)',
    success: none('revoked'),
  },

  {
    method: 'GET',
    path: '/api/v1/auth/methods',
    tag: 'auth',
    summary: 'How a browser may log in here (API key; OIDC when configured); no credential needed',
    success: json(
      '{apiKey, oidc, oidcLoginUrl?, oidcCli?: {issuer, clientId, scopes?}}',
      200,
      authMethodsSchema,
    ),
  },
  {
    method: 'POST',
    path: '/api/v1/auth/session',
    tag: 'auth',
    summary:
      'Log a browser in with an API key: sets the HttpOnly, SameSite=Strict session cookie, bound to the X-AgentTier-Session-Binding header sent (or a new binding, returned)',
    body: sessionLoginRequestSchema,
    success: json(
      '{user: {id, email?, name?, groups, isAdmin}, expiresAt, binding}',
      201,
      sessionLoginResultSchema,
    ),
  },
  {
    method: 'GET',
    path: '/api/v1/auth/oidc/login',
    tag: 'auth',
    summary: 'Start an OIDC login (authorization code + PKCE): redirects the browser to the provider',
    query: {
      returnTo: 'a path on this origin to land on after login (default /)',
      binding:
        'the session binding the web UI keeps in its storage (43 base64url characters, required): the session cookie authenticates only requests that present it',
    },
    success: { status: 302, description: 'to the provider' },
  },
  {
    method: 'GET',
    path: '/api/v1/auth/oidc/callback',
    tag: 'auth',
    summary: 'Where the provider sends the browser back: sets the session cookie and redirects to returnTo',
    query: { code: 'from the provider', state: 'from the provider' },
    success: { status: 302, description: 'to returnTo, with the session cookie' },
  },
  {
    method: 'POST',
    path: '/api/v1/auth/oidc/backchannel-logout',
    tag: 'auth',
    summary:
      'For the OpenID provider: a form body logout_token=<JWT> (Back-Channel Logout) ends the browser sessions of that provider session',
    success: json('{ended}: how many sessions ended', 200, backchannelLogoutResultSchema),
  },
  {
    method: 'DELETE',
    path: '/api/v1/auth/session',
    tag: 'auth',
    summary: "Log out: ends the cookie's session and clears the cookie",
    success: none('logged out (also when there was no session)'),
  },

  {
    method: 'GET',
    path: '/api/v1/templates',
    tag: 'templates',
    summary: 'List templates',
    query: NS,
    success: json('{templates: [...]}', 200, templateListSchema),
  },
  {
    method: 'POST',
    path: '/api/v1/templates',
    tag: 'templates',
    summary: 'Create a template',
    query: { ...NS, kind: 'SandboxTemplate or ClusterSandboxTemplate' },
    body: templateWriteRequestSchema,
    success: json('the template', 201, templateViewSchema),
  },
  {
    method: 'GET',
    path: '/api/v1/templates/{name}',
    tag: 'templates',
    summary: 'Get a template',
    query: { ...NS, kind: 'template kind' },
    success: json('the template', 200, templateViewSchema),
  },
  {
    method: 'PUT',
    path: '/api/v1/templates/{name}',
    tag: 'templates',
    summary: 'Create or replace a template',
    query: { ...NS, kind: 'template kind' },
    body: templateWriteRequestSchema,
    success: json('the template', 200, templateViewSchema),
  },
  {
    method: 'DELETE',
    path: '/api/v1/templates/{name}',
    tag: 'templates',
    summary: 'Delete a template no sandbox uses',
    query: { ...NS, kind: 'template kind' },
    success: none('deleted'),
  },

  {
    method: 'GET',
    path: '/api/v1/secrets',
    tag: 'secrets',
    summary: "List the caller's secrets: names and keys, never values",
    query: { namespace: 'only this namespace (default: all)' },
    success: json('{items: [...]}', 200, secretListSchema),
  },
  {
    method: 'GET',
    path: '/api/v1/secrets/{name}',
    tag: 'secrets',
    summary: "Show one of the caller's secrets: name and keys, never values",
    query: NS,
    success: json('the secret (without values)', 200, secretViewSchema),
  },
  {
    method: 'PUT',
    path: '/api/v1/secrets/{name}',
    tag: 'secrets',
    summary: "Create or replace one of the caller's secrets (values are write-only)",
    query: NS,
    body: secretWriteRequestSchema,
    success: json('the secret (without values); 201 when created', 200, secretViewSchema),
  },
  {
    method: 'DELETE',
    path: '/api/v1/secrets/{name}',
    tag: 'secrets',
    summary: "Delete one of the caller's secrets (running sandboxes keep what they were given)",
    query: NS,
    success: none('deleted'),
  },

  {
    method: 'POST',
    path: `${S}/exec`,
    tag: 'exec',
    summary: 'Run a command and wait for it',
    query: NS,
    body: execRequestSchema,
    success: json('{stdout, stderr, exitCode, ...}', 200, execResponseSchema),
  },
  {
    method: 'POST',
    path: `${S}/exec/stream`,
    tag: 'exec',
    summary: 'Run a command, streaming its output',
    query: NS,
    body: execRequestSchema,
    success: sse('start, stdout, stderr, exit events'),
  },
  {
    method: 'POST',
    path: `${S}/processes`,
    tag: 'processes',
    summary: 'Start a background process',
    query: NS,
    body: startProcessRequestSchema,
    success: json('the process', 201, processInfoSchema),
  },
  {
    method: 'GET',
    path: `${S}/processes`,
    tag: 'processes',
    summary: 'List background processes',
    query: NS,
    success: json('{processes: [...]}', 200, processListSchema),
  },
  {
    method: 'GET',
    path: `${S}/processes/{pid}`,
    tag: 'processes',
    summary: 'Get a process',
    query: NS,
    success: json('the process', 200, processInfoSchema),
  },
  {
    method: 'GET',
    path: `${S}/processes/{pid}/output`,
    tag: 'processes',
    summary: 'Attach to its output (replay from an offset)',
    query: { ...NS, fromOffset: 'byte offset to replay from' },
    success: sse('output and exit events'),
  },
  {
    method: 'POST',
    path: `${S}/processes/{pid}/signal`,
    tag: 'processes',
    summary: 'Signal a process',
    query: NS,
    body: signalRequestSchema,
    success: json('the process', 200, processInfoSchema),
  },
  {
    method: 'DELETE',
    path: `${S}/processes/{pid}`,
    tag: 'processes',
    summary: 'Kill a process',
    query: NS,
    success: json('the process', 200, processInfoSchema),
  },

  {
    method: 'GET',
    path: `${S}/files/{path}`,
    tag: 'files',
    summary: 'Read a file, or list a directory (trailing / or ?path=)',
    query: { ...NS, path: 'directory to list' },
    success: {
      status: 200,
      description: 'the file bytes, or {path, entries} for a directory',
      contentType: 'application/octet-stream',
      jsonAlternative: fileListSchema,
    },
  },
  {
    method: 'PUT',
    path: `${S}/files/{path}`,
    tag: 'files',
    summary: 'Write a file (parents are created)',
    query: NS,
    rawBody: 'application/octet-stream',
    success: json('{path, bytes}', 201, fileWriteResultSchema),
  },
  {
    method: 'DELETE',
    path: `${S}/files/{path}`,
    tag: 'files',
    summary: 'Delete a file or directory',
    query: { ...NS, recursive: 'true to delete a non-empty directory' },
    success: none('deleted'),
  },
  {
    method: 'GET',
    path: `${S}/fs/stat`,
    tag: 'files',
    summary: 'Stat a path',
    query: { ...NS, path: 'absolute path' },
    success: json('file info', 200, fileEntrySchema),
  },
  {
    method: 'POST',
    path: `${S}/fs/mkdir`,
    tag: 'files',
    summary: 'Make a directory',
    query: NS,
    body: mkdirRequestSchema,
    success: json('file info', 201, fileEntrySchema),
  },
  {
    method: 'POST',
    path: `${S}/fs/rename`,
    tag: 'files',
    summary: 'Rename or move a path',
    query: NS,
    body: renameRequestSchema,
    success: json('file info', 200, fileEntrySchema),
  },
  {
    method: 'GET',
    path: `${S}/fs/watch`,
    tag: 'files',
    summary: 'Watch a directory for changes',
    query: {
      ...NS,
      path: 'directory',
      recursive: 'false: this directory only (default: subdirectories too)',
    },
    success: sse('change events'),
  },
  {
    method: 'GET',
    path: `${S}/archive`,
    tag: 'files',
    summary: 'Download the workspace (or a directory) as a zip',
    query: { ...NS, path: 'directory (default: the workspace)' },
    success: { status: 200, description: 'the archive', contentType: 'application/zip' },
  },

  {
    method: 'GET',
    path: `${S}/ports`,
    tag: 'ports',
    summary: 'List forwarded ports',
    query: NS,
    success: json('{ports: [...]}', 200, portListSchema),
  },
  {
    method: 'POST',
    path: `${S}/ports`,
    tag: 'ports',
    summary: 'Forward a port (preview)',
    query: NS,
    body: forwardedPortSchema,
    success: json('the port', 201, portViewSchema),
  },
  {
    method: 'DELETE',
    path: `${S}/ports/{port}`,
    tag: 'ports',
    summary: 'Stop forwarding a port (by number, or by the name it was forwarded with)',
    query: NS,
    success: none('removed'),
  },
  {
    method: 'POST',
    path: `${S}/ports/{port}/preview-link`,
    tag: 'ports',
    summary:
      'A single-use link (60 s) that opens the preview in a browser: the preview origin swaps it for a session cookie for this sandbox port only',
    query: NS,
    body: previewLinkRequestSchema,
    success: json('{url, expiresAt, previewUrl}', 201, previewLinkSchema),
  },

  {
    method: 'POST',
    path: `${S}/configure`,
    tag: 'agent',
    summary: 'Configure an agent sandbox (files, install, entrypoint)',
    query: NS,
    body: configureRequestSchema,
    success: sse('install progress and a result event'),
  },
  {
    method: 'GET',
    path: `${S}/agent/config`,
    tag: 'agent',
    summary:
      'What the last successful configure set: the AgentConfigureStatus fields, install argv, file paths (no contents), env names (no values)',
    query: NS,
    success: json('{configured, entrypoint, installCommand, files, envNames, …}', 200, agentConfigViewSchema),
  },
  {
    method: 'GET',
    path: `${S}/configure/install-log`,
    tag: 'agent',
    summary: 'The last install log',
    query: NS,
    success: json('{log}', 200, installLogSchema),
  },
  {
    method: 'POST',
    path: `${S}/invoke`,
    tag: 'agent',
    summary: "Invoke the agent: the body is the entrypoint's stdin (any type, 16 MiB)",
    query: {
      ...NS,
      prompt: 'passed to the entrypoint as --prompt=…; the stdin when the body is empty',
      timeout: 'a duration such as 5m',
      detach: 'true: the run goes on when the connection closes',
    },
    rawBody: 'application/octet-stream',
    success: sse('start, stdout, stderr, exit events (X-Invoke-ID header)'),
  },
  {
    method: 'POST',
    path: `${S}/invoke/cancel`,
    tag: 'agent',
    summary: 'Cancel an invoke in flight ({"invokeId": "inv-…"})',
    query: NS,
    body: invokeCancelRequestSchema,
    success: none('canceled'),
  },
  {
    method: 'GET',
    path: `${S}/invokes`,
    tag: 'agent',
    summary: 'List invoke records',
    query: NS,
    success: json('{invokes: [...]}', 200, invokeListSchema),
  },
  {
    method: 'GET',
    path: `${S}/invokes/{invokeId}`,
    tag: 'agent',
    summary: 'Get an invoke record',
    query: NS,
    success: json('the record', 200, invokeRecordSchema),
  },
  {
    method: 'GET',
    path: `${S}/invokes/{invokeId}/stream`,
    tag: 'agent',
    summary: 'Re-attach to an invoke (replay with Last-Event-ID)',
    query: NS,
    success: sse('invoke events'),
  },

  {
    method: 'GET',
    path: '/api/v1/openapi.json',
    tag: 'meta',
    summary: 'This document',
    success: json('OpenAPI 3.1', 200, openApiDocumentSchema),
  },
];

/**
 * The operations whose success answer is a stream or a download, not a JSON body, with its media type:
 * the only ones without a response schema (openapi.test.ts fails for any other operation that has no
 * schema for its success status, 204 and redirects aside).
 */
export const STREAMED_ANSWERS: ReadonlyMap<string, string> = new Map([
  ['POST /api/v1/sandboxes/{id}/exec/stream', 'text/event-stream'],
  ['GET /api/v1/sandboxes/{id}/processes/{pid}/output', 'text/event-stream'],
  ['GET /api/v1/sandboxes/{id}/fs/watch', 'text/event-stream'],
  ['POST /api/v1/sandboxes/{id}/configure', 'text/event-stream'],
  ['POST /api/v1/sandboxes/{id}/invoke', 'text/event-stream'],
  ['GET /api/v1/sandboxes/{id}/invokes/{invokeId}/stream', 'text/event-stream'],
  // A file's bytes (a directory's listing is JSON, with its schema as the alternative).
  ['GET /api/v1/sandboxes/{id}/files/{path}', 'application/octet-stream'],
  ['GET /api/v1/sandboxes/{id}/archive', 'application/zip'],
]);

/**
 * Routes served but not REST operations of the API: probes and metrics, the preview redirect (any
 * method, answered with a redirect to the preview origin), and routes added at run time by agent mode.
 */
export const UNDOCUMENTED_ROUTES: ReadonlySet<string> = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /', // the web UI's files (http/web-ui.ts), not API
  'GET /*',
  // MCP's streamable HTTP transport (routes/mcp.ts, docs/mcp.md): JSON-RPC, not REST operations.
  'POST /mcp',
  'DELETE /mcp',
  'GET /mcp',
]);

/** `/a/:id/*` → `/a/{id}/{path}`: Fastify's route syntax in OpenAPI's. */
export function openApiPath(fastifyUrl: string): string {
  return fastifyUrl.replace(/:([a-zA-Z]+)/g, '{$1}').replace(/\/\*$/, '/{path}');
}

const routeTables = new WeakMap<FastifyInstance, string[]>();

/** Records every route registered on `app` from now on as `METHOD /url` (HEAD routes left out). */
export function recordRouteTable(app: FastifyInstance): void {
  const table: string[] = [];
  routeTables.set(app, table);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) if (m !== 'HEAD') table.push(`${m} ${route.url}`);
  });
}

/** The routes recorded by recordRouteTable. */
export function routeTableOf(app: FastifyInstance): readonly string[] {
  return routeTables.get(app) ?? [];
}

/** Serves the document built from API_OPERATIONS. */
export function registerOpenApiRoute(app: FastifyInstance): void {
  const doc = openApiDocument({
    title: 'AgentTier REST API',
    version: 'v1',
    description: 'Generated from the zod schemas the routes validate with. Errors: docs/errors.md.',
    operations: API_OPERATIONS,
  });
  app.get('/api/v1/openapi.json', async () => doc);
}
