import { randomBytes } from 'node:crypto';
import Fastify, { LogController } from 'fastify';
import type { FastifyReply, FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type {
  AgentRecordStore,
  ApiKeyStore,
  AuditLog,
  DataPlane,
  SandboxEventFeed,
  SecretStore,
  Store,
} from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { createAgentMetrics } from './agent/agent-metrics.ts';
import { createAgentService } from './agent/agent-service.ts';
import type { AgentService } from './agent/agent-service.ts';
import { registerAgentRoutes } from './routes/agent.ts';
import { registerPortRoutes } from './routes/ports.ts';
import { registerFileOpsRoutes } from './routes/file-ops.ts';
import { registerProcessRoutes } from './routes/processes.ts';
import { registerUpgrades } from './routes/upgrades.ts';
import type { Authenticator, Identity } from './context.ts';
import { createSessionAuthenticator } from './auth/session-auth.ts';
import type { BrowserSessionOpts } from './routes/auth-session.ts';
import { registerAuthSessionRoutes } from './routes/auth-session.ts';
import type { ServiceAccountReviewer } from './auth/bearer-auth.ts';
import { createBearerAuthenticator } from './auth/bearer-auth.ts';
import type { OidcSettings } from './auth/oidc-settings.ts';
import { createOidcVerifier } from './auth/oidc-verifier.ts';
import { registerOidcLoginRoutes } from './routes/oidc-login.ts';
import { registerBackchannelLogout } from './routes/oidc-backchannel-logout.ts';
import { DEV_IDENTITY, devAuthenticator } from './context.ts';
import type { KeyAuthOpts } from './auth/key-authenticator.ts';
import { createKeyAuthenticator } from './auth/key-authenticator.ts';
import { registerUserRoutes } from './routes/user.ts';
import { createAccessControl } from './auth/access-control.ts';
import { installAuditHook, registerAuditRoutes } from './routes/audit.ts';
import { toWireError } from './errors.ts';
import { createHttpMetrics } from './metrics.ts';
import type { HttpMetrics } from './metrics.ts';
import { registerDataPlaneRoutes } from './routes/data-plane.ts';
import { registerSandboxRoutes } from './routes/sandboxes.ts';
import { registerShareRoutes } from './routes/shares.ts';
import type { IdentityRateLimitOpts } from './auth/rate-limits.ts';
import { createIdentityRateLimiter } from './auth/rate-limits.ts';
import { installIdentityRateLimits } from './auth/rate-limit-hook.ts';
import { createAccessAudit } from './auth/access-audit.ts';
import { trustedProxies } from './http/trusted-proxies.ts';
import { registerTemplateRoutes } from './routes/templates.ts';
import { registerSecretRoutes } from './routes/secrets.ts';
import { createSandboxService } from './sandbox-service.ts';
import { CreateLimiter } from './create-limits.ts';
import type { CreateLimitOpts } from './create-limits.ts';
import type { MachineCapacity } from './capacity.ts';
import { handleClientError } from './http/client-errors.ts';
import { installConnectionGuard } from './http/connection-guard.ts';
import { installJsonBodyParser } from './http/json-body.ts';
import { prefersJson } from './http/accept.ts';
import { SERVER_VERSION } from './version.ts';
import type { BrowserPolicyOpts } from './http/guards.ts';
import { registerGuardChain } from './http/guards.ts';
import type { ServerLimitsOpts } from './http/server-limits.ts';
import { SERVER_LIMIT_DEFAULTS } from './http/server-limits.ts';
import type { PreviewSessionOpts } from './auth/preview-sessions.ts';
import { createPreviewSessions } from './auth/preview-sessions.ts';
import { createPreviewProxy } from './routes/preview-proxy.ts';
import { recordRouteTable, registerOpenApiRoute } from './openapi.ts';
import type { WebUiOpts } from './http/web-ui.ts';
import { registerWebUi } from './http/web-ui.ts';
import { registerUsageRoutes } from './observability/usage-route.ts';
import { registerEventRoutes } from './observability/events-route.ts';
import type { McpRouteOpts } from './routes/mcp.ts';
import { registerMcpRoutes } from './routes/mcp.ts';

export interface AppDeps {
  store: Store;
  dataPlaneFor: (sandbox: Sandbox) => Promise<DataPlane>;
  logger: PinoLogger;
  /**
   * Who is calling, when not API keys (`apiKeys`). Neither given: every caller is the development
   * admin (in-process tests only).
   */
  authenticate?: Authenticator;
  /**
   * Per-user secrets for sandbox `credentials` (local platform): enables the secret routes and the
   * create-time check that each referenced secret is the caller's. Absent (Kubernetes): the routes
   * answer 501 and references are Secrets of the sandbox's namespace, checked by the kubelet.
   */
  secrets?: SecretStore;
  /** API keys: enables key authentication (unless `authenticate` is given) and the key routes. */
  apiKeys?: ApiKeyStore;
  /** With `apiKeys`: requests without any credential are the development admin (`--dev-auth`). */
  devAuth?: boolean;
  /** The audit trail: state-changing calls and refused ones are recorded (docs/auth.md). */
  auditLog?: AuditLog;
  /** Failure rate limit and caches of key authentication (docs/auth.md). */
  keyAuth?: Omit<KeyAuthOpts, 'keys' | 'anonymous' | 'session' | 'bearer'>;
  /** Browser sessions (cookie login with an API key); needs `apiKeys`. */
  sessions?: BrowserSessionOpts;
  /** OIDC: bearer JWTs from this issuer; with a client id and `sessions`, browser login too (docs/auth.md). */
  oidc?: OidcSettings;
  /** Kubernetes ServiceAccount tokens, reviewed by the API server (auth/token-review.ts). */
  serviceAccounts?: ServiceAccountReviewer;
  /** Overrides how bearer tokens that are not API keys are checked (default: `oidc`, then `serviceAccounts`). */
  bearer?: (token: string) => Promise<Identity>;
  /** Lifetimes and bounds of preview links and preview sessions (docs/security.md). */
  previewSessions?: PreviewSessionOpts;
  /** Nudges the controller after a write. */
  enqueue?: (namespace: string, name: string) => void;
  /** Extra readiness checks (engine ping, …); each throws when not ready. */
  readinessChecks?: Array<() => Promise<void>>;
  metrics?: HttpMetrics;
  /** sandboxd client of a sandbox (agent mode, streaming); undefined when it runs without one. */
  sandboxdFor?: (sandbox: Sandbox) => SandboxdClient | undefined;
  /** Durable invoke records; agent mode is enabled when given together with `sandboxdFor`. */
  agentRecords?: AgentRecordStore;
  /** Where each sandbox's events feed is read (`GET …/events`); absent: that route is 501. */
  sandboxEvents?: SandboxEventFeed;
  /** JSON body cap. @default 16 MiB */
  jsonBodyLimitBytes?: number;
  /** Per-identity and per-address rate limits of create, exec and invoke (docs/auth.md); none when absent. */
  rateLimits?: IdentityRateLimitOpts;
  /**
   * Proxies (addresses, CIDR ranges) whose `X-Forwarded-For` names the client, for per-address limits,
   * the failed-authentication lockout and the audit trail's source. Absent or empty: the socket's peer is
   * the client and the header is ignored.
   */
  trustedProxies?: readonly string[];
  /** Create rate limit and cap on sandboxes (`agenttier up` sets DEFAULT_CREATE_LIMITS); none when absent. */
  createLimits?: CreateLimitOpts;
  /** CPU and memory one sandbox may ask for at most (`agenttier up` passes the machine's); none when absent. */
  capacity?: MachineCapacity;
  /** Engine name of a sandbox's children where it is not unique per namespace (local platform). */
  childNameOf?: (namespace: string, name: string) => string;
  /** Host allow-list, CORS origins, preview origin, timeouts and connection limits (docs/security.md). */
  http?: HttpPolicyOpts;
  /** The web UI's built files, served at `/` (docs/web-ui.md); absent: `/` is a 404 like any unknown path. */
  webUi?: WebUiOpts;
  /**
   * The router's MCP endpoint at `/mcp` (streamable HTTP, behind the same guards and authentication as
   * the API; docs/mcp.md): its session bounds and body cap, or `false` to serve none. @default on
   */
  mcp?: McpRouteOpts | false;
  /** Serve HTTPS with this PEM key and certificate (`agenttier up --tls-cert/--tls-key`); absent: plain HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

interface NodeServerOpts {
  requireHostHeader: boolean;
  headersTimeout: number;
  connectionsCheckingInterval: number;
  maxHeaderSize: number;
}

/**
 * Fastify's `http` options, or `https` with the same server settings plus the key pair. Typed as the
 * HTTP form: Fastify picks the server by the option present, and both servers emit the same events
 * (`upgrade` included), which is all the rest of the router relies on.
 */
function serverOptions(opts: NodeServerOpts, tls: AppDeps['tls']): { http: NodeServerOpts } {
  if (!tls) return { http: opts };
  return { https: { ...opts, key: tls.key, cert: tls.cert } } as unknown as { http: NodeServerOpts };
}

/** Everything about how the router meets browsers and abusive clients. */
export type HttpPolicyOpts = BrowserPolicyOpts & ServerLimitsOpts;

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** Builds the router without listening: tests call `app.inject()`, `main` calls `listen`. */
export function createApp(deps: AppDeps): FastifyInstance {
  const limits = { ...SERVER_LIMIT_DEFAULTS, ...deps.http };
  const trustsProxy = deps.trustedProxies?.length ? trustedProxies(deps.trustedProxies) : undefined;
  const app = Fastify({
    // req.ip: the peer, or, from a trusted proxy, the right-most X-Forwarded-For hop it does not trust.
    trustProxy: trustsProxy ? (address: string) => trustsProxy(address) : false,
    // A missing Host is answered by the Host guard in the one error shape (Node's own answer is an
    // empty 400); parser errors (431, malformed requests, timeouts) by handleClientError.
    ...serverOptions(
      {
        requireHostHeader: false,
        headersTimeout: limits.headersTimeoutMs,
        connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
        maxHeaderSize: limits.maxHeaderBytes,
      },
      deps.tls,
    ),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    clientErrorHandler: handleClientError,
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: deps.jsonBodyLimitBytes ?? 16 * 1024 * 1024,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomBytes(8).toString('hex');
    },
    // We log one line per request ourselves (onResponse), with the route template and duration.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 4096 },
    // Errors Fastify raises before routing (a malformed %-escape, an over-long URL) bypass
    // setErrorHandler; route them through the same wire shape.
    frameworkErrors: (err, req, reply) => {
      const { status, body, headers } = toWireError(err, String(req.id));
      const r = reply as unknown as FastifyReply;
      void r
        .code(status)
        .headers({ ...headers, 'x-request-id': String(req.id) })
        .type('application/json')
        .send(body);
    },
  });
  recordRouteTable(app); // before any route: openapi.test.ts checks every route is documented
  const sessionAuth = deps.sessions
    ? createSessionAuthenticator({
        sessions: deps.sessions.store,
        ...(deps.apiKeys ? { keys: deps.apiKeys } : {}),
        secure: deps.sessions.secureCookies ?? false,
      })
    : undefined;
  const oidcVerifier = deps.oidc ? createOidcVerifier(deps.oidc) : undefined;
  const bearer =
    deps.bearer ??
    (oidcVerifier || deps.serviceAccounts
      ? createBearerAuthenticator({
          ...(oidcVerifier ? { oidc: oidcVerifier } : {}),
          ...(deps.serviceAccounts ? { serviceAccounts: deps.serviceAccounts } : {}),
        })
      : undefined);
  const keyAuth = deps.apiKeys
    ? createKeyAuthenticator({
        ...deps.keyAuth,
        keys: deps.apiKeys,
        ...(deps.devAuth ? { anonymous: DEV_IDENTITY } : {}),
        ...(sessionAuth ? { session: sessionAuth } : {}),
        ...(bearer ? { bearer } : {}),
      })
    : undefined;
  const authenticate = deps.authenticate ?? keyAuth?.authenticate ?? devAuthenticator;
  const metrics = deps.metrics ?? createHttpMetrics();
  // Bound once agent mode is set up below (it needs the service's routes registered first).
  let forgetAgentRecords: ((ns: string, name: string) => Promise<void>) | undefined;
  const sandboxes = createSandboxService({
    store: deps.store,
    ...(deps.createLimits ? { createLimits: new CreateLimiter(deps.createLimits) } : {}),
    ...(deps.capacity ? { capacity: deps.capacity } : {}),
    ...(deps.childNameOf ? { childNameOf: deps.childNameOf } : {}),
    ...(deps.enqueue ? { enqueue: deps.enqueue } : {}),
    ...(deps.secrets ? { secrets: deps.secrets } : {}),
    onDeleted: async (ns, name) => {
      await forgetAgentRecords?.(ns, name).catch((err: unknown) =>
        app.log.warn({ err: String(err), sandbox: `${ns}/${name}` }, 'dropping agent records failed'),
      );
    },
  });

  // JSON routes take JSON only: Fastify's default text/plain parser would hand them a string (docs
  // promise 415 for any other type). Raw-body routes register their own parsers.
  app.removeContentTypeParser('text/plain');
  installJsonBodyParser(app);
  installConnectionGuard(app.server, limits);
  const preview = deps.sandboxdFor
    ? createPreviewProxy({ store: deps.store, sandboxes, sandboxdFor: deps.sandboxdFor })
    : undefined;
  if (preview) app.addHook('preClose', async () => preview.closeAll());
  const access = createAccessControl(deps.store);
  const previewSessions = createPreviewSessions(deps.previewSessions);
  const accessAudit = deps.auditLog
    ? createAccessAudit(deps.auditLog, {
        onError: (err) => app.log.error({ err: String(err) }, 'audit write failed'),
      })
    : undefined;
  const guards = registerGuardChain(app, deps.http ?? {}, {
    ...(accessAudit ? { audit: accessAudit } : {}),
    authenticate,
    access,
    previewSessions,
    ...(preview ? { preview } : {}),
  });
  if (deps.rateLimits) installIdentityRateLimits(app, createIdentityRateLimiter(deps.rateLimits));
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.observe(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    req.log[level](
      { method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, headers } = toWireError(err, String(req.id));
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(status).headers(headers).type('application/json').send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    const message = `no route for ${req.method} ${req.url.split('?')[0]}; see docs/api.md`;
    const { status, body } = toWireError(new PlatformError('NOT_FOUND', message), String(req.id));
    void reply.code(status).type('application/json').send(body);
  });

  registerOpenApiRoute(app);
  registerWebUi(app, deps.webUi);
  // Probes get plain `ok`; a client asking for JSON (the seed SDK's `health()`) gets status and version.
  app.get('/healthz', async (req, reply) =>
    prefersJson(req.headers.accept)
      ? reply.type('application/json').send({ status: 'ok', version: SERVER_VERSION })
      : reply.type('text/plain').send('ok'),
  );
  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.store.list('ClusterSandboxTemplate');
      for (const check of deps.readinessChecks ?? []) await check();
      return reply.type('text/plain').send('ok');
    } catch (err) {
      return reply
        .code(503)
        .type('text/plain')
        .send(`not ready: ${(err as Error).message}`);
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.render()));

  if (deps.auditLog) installAuditHook(app, deps.auditLog);
  registerAuditRoutes(app, { ...(deps.auditLog ? { log: deps.auditLog } : {}) });
  registerUserRoutes(app, {
    access,
    ...(deps.apiKeys ? { keys: deps.apiKeys } : {}),
    forgetKey: (id: string) => {
      keyAuth?.forget(id);
      deps.sessions?.store.revokeByKey(id); // a revoked key's browser sessions end with it
      previewSessions.forgetKey(id); // and its preview links and preview sessions
    },
  });
  registerAuthSessionRoutes(app, {
    ...(deps.sessions ? { sessions: deps.sessions } : {}),
    ...(keyAuth ? { authenticateKey: keyAuth.authenticate } : {}),
    oidcLogin: Boolean(deps.oidc?.clientId && deps.sessions),
    ...(deps.oidc?.cliClientId
      ? {
          oidcCli: {
            issuer: deps.oidc.issuer,
            clientId: deps.oidc.cliClientId,
            ...(deps.oidc.scopes ? { scopes: deps.oidc.scopes } : {}),
          },
        }
      : {}),
  });
  registerOidcLoginRoutes(
    app,
    oidcVerifier && deps.oidc && deps.sessions
      ? { settings: deps.oidc, verifier: oidcVerifier, sessions: deps.sessions }
      : undefined,
  );
  registerBackchannelLogout(
    app,
    oidcVerifier && deps.oidc
      ? {
          settings: deps.oidc,
          verifier: oidcVerifier,
          ...(deps.sessions ? { sessions: deps.sessions.store } : {}),
        }
      : undefined,
  );
  registerSandboxRoutes(app, { store: deps.store, sandboxes });
  if (deps.mcp !== false) registerMcpRoutes(app, deps.mcp ?? {});
  registerShareRoutes(app, { store: deps.store });
  registerTemplateRoutes(app, { store: deps.store });
  registerSecretRoutes(app, { ...(deps.secrets ? { secrets: deps.secrets } : {}) });
  registerDataPlaneRoutes(app, { store: deps.store, sandboxes, dataPlaneFor: deps.dataPlaneFor });
  registerPortRoutes(app, {
    store: deps.store,
    sandboxdFor: (sb) => deps.sandboxdFor?.(sb),
    previewOrigin: guards.previewOrigin,
    previewSessions,
  });
  registerUsageRoutes(app, { store: deps.store, sandboxdFor: (sb) => deps.sandboxdFor?.(sb) });
  registerEventRoutes(app, { store: deps.store, events: deps.sandboxEvents });
  if (deps.sandboxdFor) {
    const sandboxdFor = deps.sandboxdFor;
    registerProcessRoutes(app, { store: deps.store, sandboxes, sandboxdFor });
    registerFileOpsRoutes(app, { store: deps.store, sandboxes, sandboxdFor });
    registerUpgrades(app, {
      store: deps.store,
      sandboxes,
      sandboxdFor,
      authenticate,
      access,
      guards,
      previewSessions,
      ...(preview ? { preview } : {}),
      ...(accessAudit ? { audit: accessAudit } : {}),
      ...(trustsProxy ? { trustsProxy } : {}),
    });
  }
  if (deps.agentRecords && deps.sandboxdFor) {
    const agent: AgentService = createAgentService({
      store: deps.store,
      records: deps.agentRecords,
      sandboxdFor: deps.sandboxdFor,
      dataPlaneFor: deps.dataPlaneFor,
      metrics: createAgentMetrics(metrics.registry),
    });
    registerAgentRoutes(app, { store: deps.store, records: deps.agentRecords, agent });
    forgetAgentRecords = (ns, name) => agent.forgetSandbox(ns, name);
    app.addHook('onClose', async () => agent.stopAll());
  }
  return app;
}
