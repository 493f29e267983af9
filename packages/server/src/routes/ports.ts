import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ForwardedPort, Sandbox } from '@agenttier/contract';
import {
  DEFAULT_NAMESPACE,
  PlatformError,
  forwardedPortSchema,
  isPlatformError,
  parseOrThrow,
} from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { fromSandboxdError } from '../data-plane/sandboxd-data-plane.ts';
import type { SandboxService } from '../sandbox-service.ts';
import { getSandboxOrThrow, requireRunning } from '../sandbox-service.ts';
import { namespaceOf } from './sandboxes.ts';

export interface PortRouteDeps {
  store: Store;
  sandboxes: SandboxService;
  sandboxdFor: (sandbox: Sandbox) => SandboxdClient | undefined;
}

/** Hop-by-hop headers never forwarded by a proxy (RFC 9110 §7.6.1). */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Never sent on into the sandbox: the caller's credentials for the router (whatever runs in the sandbox
 * could replay them against the API). `host` is replaced with the sandbox-side address. Cookies are
 * filtered, not dropped: previews share the router's origin, so the router's own cookies (named
 * `agenttier…`) stay out, while the previewed app's cookies (a login session) must reach it.
 */
export const PREVIEW_STRIPPED = new Set(['authorization', 'x-api-key', 'host']);

/** The router's cookie that remembers a preview's namespace for its relative links. */
export const PREVIEW_NS_COOKIE = 'agenttier_preview_ns';

/** The Cookie header without the router's own cookies; undefined when nothing is left. */
export function previewCookie(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const pairs = (Array.isArray(header) ? header.join('; ') : header)
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && !p.toLowerCase().startsWith('agenttier'));
  return pairs.length ? pairs.join('; ') : undefined;
}

function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of (Array.isArray(header) ? header.join('; ') : header).split(';')) {
    const i = pair.indexOf('=');
    if (i > 0 && pair.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(pair.slice(i + 1).trim());
      } catch {
        return undefined; // a mangled value is no value
      }
    }
  }
  return undefined;
}

/**
 * The app's Set-Cookie headers, made safe for a shared origin: the router's own names (`agenttier…`)
 * are dropped so a sandbox cannot plant them, `Domain` is removed, and `Path` is moved under this
 * preview's prefix (the app's `/` is the prefix), so one sandbox's cookies never reach another's
 * preview.
 */
export function previewSetCookies(header: string | string[] | undefined, prefix: string): string[] {
  if (header === undefined) return [];
  const out: string[] = [];
  for (const cookie of Array.isArray(header) ? header : [header]) {
    const [pair = '', ...attrs] = cookie.split(';');
    const name = pair.split('=')[0]!.trim();
    if (!name || name.toLowerCase().startsWith('agenttier')) continue;
    let path = '/';
    const kept: string[] = [];
    for (const attr of attrs) {
      const [k = '', ...v] = attr.trim().split('=');
      const key = k.toLowerCase();
      if (key === 'domain') continue;
      if (key === 'path') {
        const given = v.join('=').trim();
        path = given.startsWith('/') ? given : '/';
        continue;
      }
      if (attr.trim()) kept.push(attr.trim());
    }
    out.push([pair.trim(), `Path=${prefix}${path}`, ...kept].join('; '));
  }
  return out;
}

/**
 * The namespace of a preview request: `?namespace=` when given, else the cookie set by an earlier
 * response under this preview's path (so a page's relative links and assets resolve), else default.
 */
export function previewNamespace(
  query: Record<string, unknown>,
  cookie: string | string[] | undefined,
): string {
  if (typeof query.namespace === 'string' && query.namespace) return namespaceOf(query);
  const remembered = cookieValue(cookie, PREVIEW_NS_COOKIE);
  return remembered ? namespaceOf({ namespace: remembered }) : namespaceOf({});
}

/**
 * Set-Cookie for this preview's path only, sent when the request named its namespace: a non-default
 * namespace is remembered, the default one clears what an earlier visit remembered.
 */
export function previewNamespaceCookie(sb: Sandbox, port: number, namedInQuery: boolean): string | undefined {
  if (!namedInQuery) return undefined;
  const ns = sb.metadata.namespace ?? DEFAULT_NAMESPACE;
  const scope = `Path=${previewPrefix(sb, port)}/; HttpOnly; SameSite=Lax`;
  return ns === DEFAULT_NAMESPACE
    ? `${PREVIEW_NS_COOKIE}=; ${scope}; Max-Age=0`
    : `${PREVIEW_NS_COOKIE}=${encodeURIComponent(ns)}; ${scope}`;
}

/** Request headers the preview proxy passes into the sandbox: no credentials, host or hop-by-hop. */
export function previewRequestHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || PREVIEW_STRIPPED.has(k)) continue;
    if (k === 'cookie') {
      const kept = previewCookie(v);
      if (kept) out[k] = kept;
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** `?namespace=` for a sandbox outside the default namespace: preview URLs must carry it to resolve. */
export function namespaceQuery(sb: Sandbox): string {
  const ns = sb.metadata.namespace ?? DEFAULT_NAMESPACE;
  return ns === DEFAULT_NAMESPACE ? '' : `?namespace=${encodeURIComponent(ns)}`;
}

export function previewPrefix(sb: Sandbox, port: number): string {
  return `/api/v1/sandboxes/${sb.metadata.name}/preview/${port}`;
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new PlatformError('BAD_REQUEST', `invalid port: ${text} (must be 1-65535)`);
  return port;
}

/** Checks a preview target and opens a byte tunnel to 127.0.0.1:port inside the sandbox. */
export async function openPreviewTunnel(
  deps: PortRouteDeps,
  ns: string,
  name: string,
  port: number,
): Promise<{ sb: Sandbox; tunnel: Socket }> {
  const sb = await getSandboxOrThrow(deps.store, ns, name);
  requireRunning(sb);
  if (!(sb.spec.forwardedPorts ?? []).some((p) => p.port === port)) {
    throw new PlatformError(
      'NOT_FOUND',
      `port ${port} is not forwarded; forward it with POST /api/v1/sandboxes/${name}/ports {"port": ${port}}`,
    );
  }
  const client = deps.sandboxdFor(sb);
  if (!client)
    throw new PlatformError('UNAVAILABLE', `sandbox ${name} runs without sandboxd; ports cannot be reached`);
  try {
    return { sb, tunnel: (await client.tcpTunnel(port, { timeoutMs: 5000 })) as Socket };
  } catch (err) {
    const mapped = fromSandboxdError(err);
    const message = (mapped as Error).message;
    throw new PlatformError(
      'UPSTREAM_UNREACHABLE',
      `port forward upstream unreachable: ${message}; is something listening on 127.0.0.1:${port} inside the sandbox?`,
    );
  }
}

export function registerPortRoutes(app: FastifyInstance, deps: PortRouteDeps): void {
  const { store } = deps;
  const view = (sb: Sandbox, p: ForwardedPort, host: string | undefined, listening?: boolean) => ({
    port: p.port,
    protocol: p.protocol ?? 'http',
    previewUrl: `http://${host ?? '127.0.0.1:8080'}${previewPrefix(sb, p.port)}/${namespaceQuery(sb)}`,
    internalUrl: `http://127.0.0.1:${p.port}`,
    ...(listening !== undefined ? { listening } : {}),
  });

  const updatePorts = async (ns: string, name: string, fn: (ports: ForwardedPort[]) => ForwardedPort[]) => {
    for (let attempt = 0; ; attempt++) {
      const sb = await getSandboxOrThrow(store, ns, name);
      try {
        return await store.update<Sandbox>({
          ...sb,
          spec: { ...sb.spec, forwardedPorts: fn(sb.spec.forwardedPorts ?? []) },
        });
      } catch (err) {
        if (!isPlatformError(err) || err.code !== 'CONFLICT' || attempt > 5) throw err;
      }
    }
  };

  app.get('/api/v1/sandboxes/:id/ports', async (req) => {
    const { id } = req.params as { id: string };
    const sb = await getSandboxOrThrow(store, namespaceOf(req.query), id);
    let listening: Set<number> | undefined;
    const client = sb.status?.phase === 'Running' ? deps.sandboxdFor(sb) : undefined;
    if (client)
      listening = new Set((await client.listPorts({ timeoutMs: 2000 }).catch(() => [])).map((p) => p.port));
    return {
      ports: (sb.spec.forwardedPorts ?? []).map((p) => view(sb, p, req.headers.host, listening?.has(p.port))),
    };
  });

  app.post('/api/v1/sandboxes/:id/ports', async (req, reply) => {
    const { id } = req.params as { id: string };
    const body = parseOrThrow(forwardedPortSchema, req.body ?? {}, 'port');
    const sb = await updatePorts(namespaceOf(req.query), id, (ports) =>
      ports.some((p) => p.port === body.port)
        ? ports
        : [...ports, { port: body.port, protocol: body.protocol ?? 'http' }],
    );
    reply.code(201);
    return view(
      sb,
      sb.spec.forwardedPorts!.find((p) => p.port === body.port)!,
      req.headers.host,
    );
  });

  app.delete('/api/v1/sandboxes/:id/ports/:port', async (req, reply) => {
    const { id, port } = req.params as { id: string; port: string };
    const n = parsePort(port);
    await updatePorts(namespaceOf(req.query), id, (ports) => ports.filter((p) => p.port !== n));
    reply.code(204);
    return null;
  });

  // In-flight proxied exchanges: cut when the server closes (a dev server's event stream or a long
  // download would otherwise keep app.close() waiting).
  const inFlight = new Map<Socket, ServerResponse>();
  app.addHook('preClose', async () => {
    for (const [tunnel, raw] of inFlight) {
      tunnel.destroy();
      raw.destroy();
    }
    inFlight.clear();
  });

  // The preview proxy: HTTP to 127.0.0.1:PORT inside a sandbox that has no network, via sandboxd.
  void app.register(async (proxy) => {
    proxy.removeAllContentTypeParsers();
    proxy.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const { id, port } = req.params as { id: string; port: string };
      const n = parsePort(port);
      const ns = previewNamespace(req.query as Record<string, unknown>, req.headers.cookie);
      const { sb, tunnel } = await openPreviewTunnel(deps, ns, id, n);
      inFlight.set(tunnel, reply.raw);
      reply.raw.once('close', () => {
        inFlight.delete(tunnel);
        tunnel.destroy();
      });
      void deps.sandboxes.touch(sb, Date.now());
      const url = new URL(req.url, 'http://x');
      const prefix = previewPrefix(sb, n);
      const rest = url.pathname.slice(prefix.length) || '/';
      url.searchParams.delete('namespace');
      const search = url.searchParams.toString();
      const headers = previewRequestHeaders(req.headers);
      headers.host = `127.0.0.1:${n}`;
      headers['x-forwarded-prefix'] = prefix;
      headers['x-forwarded-host'] = req.headers.host ?? '';
      // No `agent` option: with `agent: false` Node ignores createConnection and dials the host itself.
      const upstream = httpRequest({
        createConnection: () => tunnel,
        method: req.method,
        path: `${rest}${search ? `?${search}` : ''}`,
        headers,
      });
      const response = new Promise<IncomingMessage>((resolve, reject) => {
        upstream.once('response', resolve);
        upstream.once('error', reject);
      });
      const body = req.body as NodeJS.ReadableStream | undefined;
      if (body && typeof body.pipe === 'function') body.pipe(upstream);
      else upstream.end();
      let res: IncomingMessage;
      try {
        res = await response;
      } catch (err) {
        tunnel.destroy();
        throw new PlatformError(
          'UPSTREAM_UNREACHABLE',
          `port forward upstream unreachable: ${(err as Error).message}`,
        );
      }
      void reply.hijack();
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      const namedInQuery = typeof (req.query as { namespace?: unknown }).namespace === 'string';
      const nsCookie = previewNamespaceCookie(sb, n, namedInQuery);
      const cookies = [
        ...previewSetCookies(res.headers['set-cookie'], prefix),
        ...(nsCookie ? [nsCookie] : []),
      ];
      if (cookies.length) out['set-cookie'] = cookies;
      else delete out['set-cookie'];
      reply.raw.writeHead(res.statusCode ?? 502, out);
      res.pipe(reply.raw);
    };
    proxy.all('/api/v1/sandboxes/:id/preview/:port', handler);
    proxy.all('/api/v1/sandboxes/:id/preview/:port/*', handler);
  });
}
