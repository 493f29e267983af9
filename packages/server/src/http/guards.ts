import { Server as TlsServer } from 'node:tls';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { PlatformError } from '@agenttier/contract';
import type { AccessControl } from '../auth/access-control.ts';
import type { AccessAudit } from '../auth/access-audit.ts';
import { accessRuleOf } from '../auth/access-rules.ts';
import { presentedCredential } from '../auth/api-key-format.ts';
import { SessionCookieConflict } from '../auth/session-auth.ts';
import { expirePlantedCookies } from '../auth/session-cookie.ts';
import type { PreviewSessions } from '../auth/preview-sessions.ts';
import { PREVIEW_SESSION_PATH } from '../auth/preview-sessions.ts';
import type { Authenticator, Identity } from '../context.ts';
import { toWireError } from '../errors.ts';
import type { PreviewProxy } from '../routes/preview-proxy.ts';
import { clientKey } from './client-key.ts';
import { createConcurrencyGuard, isExpensiveRoute } from './concurrency-guard.ts';
import { isSimpleContentType, mediaTypeOf } from './content-type-guard.ts';
import { applyCors } from './cors.ts';
import { BACKCHANNEL_LOGOUT_PATH } from '../routes/oidc-backchannel-logout.ts';
import type { AllowedHost } from './host-guard.ts';
import { hostMatches, loopbackHosts, parseAllowedHosts, parseHostHeader } from './host-guard.ts';
import { originAllowed, parseCorsOrigins } from './origin-guard.ts';
import type { PreviewOrigin, PreviewTarget } from './preview-host.ts';
import { matchPreviewHost, parsePreviewOrigin } from './preview-host.ts';
import { refuseServiceWorkerScript } from './preview-service-worker.ts';

/** Browser-facing policy of the router. Every list is in addition to the safe defaults. */
export interface BrowserPolicyOpts {
  /**
   * Host names (`name` or `name:port`) the router answers besides loopback (`localhost`, `127.0.0.1`,
   * `[::1]`, on any port: SSH tunnels and `kubectl port-forward` change the port, and a browser only
   * sends a loopback Host when it really connected to loopback): the public names of a router behind a
   * proxy or ingress.
   * @default [] (env AGENTTIER_ALLOWED_HOSTS, comma-separated, where the process reads env)
   */
  allowedHosts?: readonly string[];
  /**
   * Origins (`https://app.example.com`) that may call the API from a browser: they pass the Origin
   * check and get CORS headers. The API's own origin always passes.
   * @default [] (env AGENTTIER_CORS_ORIGINS)
   */
  corsOrigins?: readonly string[];
  /**
   * Where previews live, `scheme://*.domain[:port]`; each sandbox port gets the label
   * `{port}-{sandbox}--{namespace}` in place of `*`.
   * @default `http://*.localhost:{the router's port}` (env AGENTTIER_PREVIEW_ORIGIN)
   */
  previewOrigin?: string;
  /** Concurrent exec/file/archive/invoke/process/configure requests per client. @default 256 (as many processes as sandboxd runs at once, so one client can use a sandbox fully) */
  maxConcurrentPerClient?: number;
  /**
   * Open WebSockets (terminals, TCP tunnels, preview WebSockets) per client. A WebSocket is never
   * evicted as idle and holds a sandboxd connection too, so without a cap one client could hold
   * nearly all of the router's connections. @default 256
   */
  maxWebSocketsPerClient?: number;
}

/** What a request's Host names: the API, or one sandbox port's preview. */
export type HostKind = { kind: 'api' } | { kind: 'preview'; target: PreviewTarget };

/**
 * Health and readiness answer on any Host: kubelet probes send the pod's address as Host, and a bare
 * `ok` carries nothing a rebinding page could steal. `/metrics` is not among them: it names routes,
 * templates and counts, so it takes an allowed Host and an admin (docs/security.md, "Metrics").
 */
const LOOPBACK = loopbackHosts();

const ANY_HOST_PATHS = new Set(['/healthz', '/readyz']);

export interface RequestGuards {
  /** The preview origin, with the router's listening port filled in for the local default. */
  previewOrigin(): PreviewOrigin;
  /** Host and Origin checks of a WebSocket (or any Upgrade) handshake; throws a PlatformError. */
  checkUpgrade(req: IncomingMessage): HostKind;
  /**
   * Takes one of the caller's WebSocket slots (per identity, else per folded address) until `socket`
   * closes, or throws 429 RATE_LIMITED when the caller holds `maxWebSocketsPerClient` already.
   */
  holdWebSocket(identity: Identity | null | undefined, address: string | undefined, socket: Duplex): void;
}

export interface GuardChainDeps {
  /** Proxies requests for a preview Host; absent when the router runs without sandboxd. */
  preview?: PreviewProxy;
  /** Who is calling: runs after the Host, Origin and content-type guards, on `/api/` requests. */
  authenticate: Authenticator;
  /** What the caller may do: each route's declared rule (auth/access-rules.ts), right after authentication. */
  access: AccessControl;
  /** Browser sessions on preview origins (preview links); absent: previews take API credentials only. */
  previewSessions?: PreviewSessions;
  /** Audit trail of preview accesses (once per caller, target and outcome per window). */
  audit?: AccessAudit;
}

/**
 * Who a preview request is: an API credential when it carries one (checked as on the API), else the
 * preview session its cookie names for exactly this sandbox port, else whatever `authenticate` makes
 * of no credential (401, or the dev admin).
 */
export async function authenticatePreview(
  deps: Pick<GuardChainDeps, 'authenticate' | 'previewSessions'>,
  headers: IncomingHttpHeaders,
  target: PreviewTarget,
  address: string,
): Promise<Identity> {
  if (presentedCredential(headers).kind === 'none') {
    const session = deps.previewSessions?.identityFor(headers, target);
    if (session) return session;
  }
  return deps.authenticate(headers, { address });
}

/**
 * The one place where every request's guards are registered, in order: request id → Host allow-list
 * (a preview Host: authentication, then the preview proxy and nothing else) → Origin → CORS → content
 * type → authentication → per-client concurrency. Authentication (`identity`) slots in here, after
 * the browser guards.
 */
export function registerGuardChain(
  app: FastifyInstance,
  opts: BrowserPolicyOpts,
  deps: GuardChainDeps,
): RequestGuards {
  const extraHosts: AllowedHost[] = parseAllowedHosts(opts.allowedHosts ?? []);
  const corsOrigins = parseCorsOrigins(opts.corsOrigins ?? []);
  const configuredPreview = opts.previewOrigin ? parsePreviewOrigin(opts.previewOrigin) : undefined;
  const concurrency = createConcurrencyGuard(opts.maxConcurrentPerClient ?? 256);
  const webSockets = createConcurrencyGuard(opts.maxWebSocketsPerClient ?? 256, 'open WebSockets');

  const listeningPort = (): number | undefined => {
    const addr = app.server.address() as AddressInfo | string | null;
    return addr && typeof addr === 'object' ? addr.port : undefined;
  };
  const previewOrigin = (): PreviewOrigin => {
    if (configuredPreview) return configuredPreview;
    const port = listeningPort();
    // Previews are served by this same server: over TLS when it speaks TLS (`agenttier up --tls-cert`).
    const scheme = app.server instanceof TlsServer ? 'https' : 'http';
    return { scheme, domain: 'localhost', ...(port !== undefined ? { port } : {}) };
  };

  /** Classifies a Host header or throws 400/421 in the one error shape. */
  const classify = (headers: IncomingHttpHeaders): HostKind => {
    const raw = headers.host;
    if (!raw)
      throw new PlatformError('BAD_REQUEST', 'missing Host header; HTTP/1.1 requests must name the host');
    const host = parseHostHeader(raw);
    if (!host) throw new PlatformError('BAD_REQUEST', `malformed Host header "${raw.slice(0, 100)}"`);
    const preview = matchPreviewHost(host, previewOrigin());
    if (preview) {
      if (!preview.target)
        throw new PlatformError(
          'NOT_FOUND',
          'no preview at this host; preview hosts look like {port}-{sandbox}--{namespace}.' +
            previewOrigin().domain,
        );
      return { kind: 'preview', target: preview.target };
    }
    if (hostMatches(host, LOOPBACK) || hostMatches(host, extraHosts)) return { kind: 'api' };
    throw new PlatformError(
      'HOST_NOT_ALLOWED',
      `this router does not answer for host "${raw.slice(0, 100)}"; use a loopback address, or add the name with --allowed-host (AGENTTIER_ALLOWED_HOSTS)`,
    );
  };

  const checkOrigin = (headers: IncomingHttpHeaders): void => {
    if (!originAllowed(headers.origin, headers.host, corsOrigins))
      throw new PlatformError(
        'ORIGIN_NOT_ALLOWED',
        `requests from origin ${String(headers.origin).slice(0, 200)} are not accepted; add it with --cors-origin (AGENTTIER_CORS_ORIGINS) if it is yours`,
      );
  };

  /**
   * A preview accepts state-changing requests and WebSockets from its own origin, from the other
   * previews of the same sandbox (a front end on one port calling its back end on another) and from
   * configured CORS origins; never from any other site, which could otherwise drive the app in the
   * sandbox (a notebook, an IDE's terminal) with the user's access to the preview.
   */
  const checkPreviewOrigin = (headers: IncomingHttpHeaders, target: PreviewTarget): void => {
    if (originAllowed(headers.origin, headers.host, corsOrigins)) return;
    let from: PreviewTarget | undefined;
    try {
      const url = new URL(String(headers.origin));
      const host = parseHostHeader(url.host);
      const origin = previewOrigin();
      if (host && url.protocol === `${origin.scheme}:`) {
        from = matchPreviewHost(host, origin)?.target;
      }
    } catch {
      from = undefined; // `null` or garbage: another site
    }
    if (from && from.name === target.name && from.namespace === target.namespace) return;
    throw new PlatformError(
      'ORIGIN_NOT_ALLOWED',
      `a page from ${String(headers.origin).slice(0, 200)} may not send this to a preview of sandbox "${target.name}"; only its own previews and configured CORS origins may`,
    );
  };

  app.decorateRequest('identity', null as never);
  app.decorateRequest('sandbox', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // Only origin-form targets ("/api/..."). Fastify routes an absolute-form target
    // ("http://host/api/...") by its path, while every check here and in the audit reads req.url:
    // such a request once ran exec unauthenticated. This router is not a proxy; "*" asks it nothing.
    if (!req.url.startsWith('/'))
      throw new PlatformError(
        'BAD_REQUEST',
        'the request target must be a path starting with "/" (absolute URLs and "*" are not served here)',
      );
    // Node keeps the first of several Host headers; a proxy in front may route by another one.
    if (hostHeaderCount(req.raw.rawHeaders) > 1)
      throw new PlatformError('BAD_REQUEST', 'more than one Host header; send exactly one');
    const path = req.url.split('?')[0]!;
    const probe = (req.method === 'GET' || req.method === 'HEAD') && ANY_HOST_PATHS.has(path);
    let kind: HostKind;
    try {
      kind = classify(req.headers);
    } catch (err) {
      if (!probe) throw err;
      kind = { kind: 'api' };
    }

    if (kind.kind === 'preview') {
      if (path === PREVIEW_SESSION_PATH && deps.previewSessions) {
        // A preview link: its token is the credential. Swap it for the session cookie and send the
        // browser on without the token in its address bar, history or Referer.
        if (req.method !== 'GET')
          throw new PlatformError(
            'METHOD_NOT_ALLOWED',
            `${PREVIEW_SESSION_PATH} takes GET (open the preview link)`,
          );
        const token = new URL(req.url, 'http://x').searchParams.get('token') ?? '';
        const { setCookie, location } = deps.previewSessions.exchange(
          token,
          kind.target,
          previewOrigin().scheme === 'https',
        );
        return reply
          .code(303)
          .header('set-cookie', setCookie)
          .header('location', location)
          .header('cache-control', 'no-store')
          .header('referrer-policy', 'no-referrer')
          .send();
      }
      refuseServiceWorkerScript(req.headers);
      // The preview is a door into a sandbox: the same authentication as the API, before anything.
      const audited = {
        action: 'PREVIEW',
        target: `sandbox:${kind.target.namespace}/${kind.target.name}:${kind.target.port}`,
        requestId: String(req.id),
        source: req.ip,
      };
      try {
        req.identity = await authenticatePreview(deps, req.headers, kind.target, req.ip);
        await deps.access.requireSandbox(req.identity, kind.target.namespace, kind.target.name, 'ports');
      } catch (err) {
        deps.audit?.preview({
          ...audited,
          ...(req.identity ? { who: req.identity } : {}),
          status: toWireError(err, audited.requestId).status,
        });
        throw err;
      }
      deps.audit?.preview({ ...audited, who: req.identity, status: 200 });
      if (!(req.method === 'GET' || req.method === 'HEAD')) checkPreviewOrigin(req.headers, kind.target);
      if (!deps.preview)
        throw new PlatformError('UNAVAILABLE', 'previews need sandboxd, which this router runs without');
      const proxy = deps.preview;
      reply.hijack();
      try {
        await proxy.http(req.raw, reply.raw, kind.target);
      } catch (err) {
        const { status, body, headers } = toWireError(err, String(req.id));
        if (!reply.raw.headersSent)
          reply.raw.writeHead(status, {
            ...headers,
            'content-type': 'application/json',
            'x-request-id': req.id,
          });
        reply.raw.end(JSON.stringify(body));
      }
      return reply;
    }

    // API answers are data, never a script or an embeddable resource for another site's page
    // (`<script src>` / `<img src>` loads are no-cors reads the Origin check does not see).
    // Probes answer a bare "ok" and stay loadable, so a page can tell the router is up and no more.
    if (!probe)
      void reply
        .header('x-content-type-options', 'nosniff')
        .header('cross-origin-resource-policy', 'same-origin');
    if (!(req.method === 'GET' || req.method === 'HEAD')) checkOrigin(req.headers);
    if (applyCors(req, reply, corsOrigins) === 'preflight-answered') return reply;
    // Only POST: PUT, PATCH and DELETE are never simple, so a page cannot send them cross-site without a
    // preflight (and curl's form-encoded `PUT --data` file uploads keep working).
    // The back-channel logout takes the form body its spec prescribes; it reads no cookie.
    if (
      req.method === 'POST' &&
      isSimpleContentType(req.headers['content-type']) &&
      req.routeOptions.url !== BACKCHANNEL_LOGOUT_PATH
    )
      throw new PlatformError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Type ${mediaTypeOf(req.headers['content-type'])} is not accepted here: send JSON with Content-Type: application/json (raw uploads: application/octet-stream)`,
      );

    // Login and logout routes are `public` in the access table: they check credentials themselves.
    const route = req.routeOptions.url;
    const open = route !== undefined && accessRuleOf(req.method, route).kind === 'public';
    // `/metrics` is an admin route too (its route, not only its path: absolute-form targets).
    // So is `/mcp`: MCP over HTTP acts as its caller (routes/mcp.ts).
    const guarded =
      path.startsWith('/api/') ||
      route?.startsWith('/api/') ||
      path === '/metrics' ||
      route === '/metrics' ||
      path === '/mcp' ||
      route === '/mcp';
    if (guarded && !open) {
      try {
        req.identity = await deps.authenticate(req.headers, { address: req.ip });
      } catch (err) {
        // A planted duplicate of the session cookie: expire it, so the next request (after logging in
        // again) works instead of failing for as long as the planter chose.
        if (err instanceof SessionCookieConflict)
          void reply.header('set-cookie', expirePlantedCookies(err.cookieName, path, req.headers.host));
        throw err;
      }
      await deps.access.authorizeRoute(req);
    }

    if (isExpensiveRoute(req.routeOptions.url)) {
      // Per identity, else per address with all of loopback one client: rotating 127.0.0.0/8 (or an
      // IPv6 /64) must not multiply a caller's share.
      const release = concurrency.acquire(clientKey(req.identity, req.ip));
      reply.raw.once('close', release);
    }
    return undefined;
  });

  return {
    previewOrigin,
    checkUpgrade(req) {
      if (hostHeaderCount(req.rawHeaders) > 1)
        throw new PlatformError('BAD_REQUEST', 'more than one Host header; send exactly one');
      const kind = classify(req.headers);
      if (kind.kind === 'api') checkOrigin(req.headers);
      else checkPreviewOrigin(req.headers, kind.target);
      return kind;
    },
    holdWebSocket(identity, address, socket) {
      const release = webSockets.acquire(clientKey(identity, address));
      if (socket.destroyed) release();
      else socket.once('close', release);
    },
  };
}

function hostHeaderCount(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'host') n++;
  return n;
}
