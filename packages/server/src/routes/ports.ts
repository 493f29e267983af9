import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ForwardedPort, PortView, PreviewLink, Sandbox } from '@agenttier/contract';
import {
  DEFAULT_NAMESPACE,
  PlatformError,
  forwardedPortSchema,
  isPlatformError,
  parseOrThrow,
  previewLinkRequestSchema,
} from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';
import type { PreviewOrigin } from '../http/preview-host.ts';
import type { PreviewSessions } from '../auth/preview-sessions.ts';
import { PREVIEW_SESSION_PATH } from '../auth/preview-sessions.ts';
import { previewUrlOf } from '../http/preview-host.ts';
import { getSandboxOrThrow } from '../sandbox-service.ts';
import { sandboxOfRequest } from '../auth/request-sandbox.ts';
import { listeningPortsFromDaemon } from '../data-plane/daemon-answers.ts';
import { parsePort } from './preview-proxy.ts';
import { namespaceOf } from './sandboxes.ts';
import type { PortRoute, SandboxRoute } from './route-input.ts';

export interface PortRouteDeps {
  store: Store;
  sandboxdFor: (sandbox: Sandbox) => SandboxdClient | undefined;
  /** Where previews live (resolved once the server listens: the local default uses its port). */
  previewOrigin: () => PreviewOrigin;
  /** Mints preview links (browser sessions on preview origins). */
  previewSessions: PreviewSessions;
}

/** Where a preview link may land: a path (and query) on the preview origin, never another origin. */
export function checkPreviewPath(path: unknown): string {
  if (path === undefined) return '/';
  if (
    typeof path !== 'string' ||
    !path.startsWith('/') ||
    path.startsWith('//') ||
    path.length > 2048 ||
    // Backslashes (some browsers read them as `/`), spaces and control characters.
    [...path].some((c) => c === '\\' || c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)
  )
    throw new PlatformError(
      'BAD_REQUEST',
      'path must be a path on the preview origin: start with a single "/", at most 2048 characters, no spaces, backslashes or control characters',
      { details: [{ field: 'path', rule: 'preview-path', message: 'a path on the preview origin' }] },
    );
  return path;
}

/** `/api/v1/sandboxes/{id}/preview/{port}[/rest]`: the old path form, now only a redirect. */
export const OLD_PREVIEW_RE =
  /^\/api\/v1\/sandboxes\/([a-z0-9][-a-z0-9]*)\/preview\/(\d+)(\/[^?]*)?(?:\?(.*))?$/;

/**
 * Where an old path-form preview URL lives now: the same path and query on the preview's own origin
 * (`namespace` leaves the query: it is part of the host name). undefined when the URL is not one.
 */
export function previewRedirectOf(url: string, origin: PreviewOrigin): string | undefined {
  const m = OLD_PREVIEW_RE.exec(url);
  if (!m) return undefined;
  const query = new URLSearchParams(m[4] ?? '');
  const namespace = namespaceOf({ namespace: query.get('namespace') ?? undefined });
  query.delete('namespace');
  const search = query.toString();
  const base = previewUrlOf(origin, { port: parsePort(m[2]!), name: m[1]!, namespace });
  return `${base}${(m[3] ?? '/').slice(1)}${search ? `?${search}` : ''}`;
}

/**
 * Forwards `want` (idempotent for the same port and name). A name names one port: reusing it for
 * another port, or renaming a named forward, is 409 (delete it first); an unnamed forward takes the
 * name it is given. Not CONFLICT: that code makes updatePorts retry.
 */
export function addPort(ports: ForwardedPort[], want: ForwardedPort): ForwardedPort[] {
  const byName = want.name ? ports.find((p) => p.name === want.name) : undefined;
  if (byName && byName.port !== want.port)
    throw new PlatformError(
      'ALREADY_EXISTS',
      `a port forward named "${want.name}" already exists (port ${byName.port}); delete it first`,
    );
  const existing = ports.find((p) => p.port === want.port);
  if (!existing)
    return [
      ...ports,
      { port: want.port, protocol: want.protocol ?? 'http', ...(want.name ? { name: want.name } : {}) },
    ];
  if (!want.name || existing.name === want.name) return ports;
  if (existing.name)
    throw new PlatformError(
      'ALREADY_EXISTS',
      `port ${want.port} is already forwarded as "${existing.name}"; delete it first to rename it`,
    );
  return ports.map((p) => (p === existing ? { ...p, name: want.name! } : p));
}

export function registerPortRoutes(app: FastifyInstance, deps: PortRouteDeps): void {
  const { store } = deps;
  const view = (sb: Sandbox, p: ForwardedPort, listening?: boolean): PortView => ({
    port: p.port,
    protocol: p.protocol ?? 'http',
    previewUrl: previewUrlOf(deps.previewOrigin(), {
      port: p.port,
      name: sb.metadata.name,
      namespace: sb.metadata.namespace ?? DEFAULT_NAMESPACE,
    }),
    ...(p.name ? { name: p.name } : {}),
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

  app.get<SandboxRoute>('/api/v1/sandboxes/:id/ports', async (req) => {
    const sb = await sandboxOfRequest(store, req);
    let listening: Set<number> | undefined;
    const client = sb.status?.phase === 'Running' ? deps.sandboxdFor(sb) : undefined;
    if (client)
      listening = new Set(
        listeningPortsFromDaemon(await client.listPorts({ timeoutMs: 2000 }).catch(() => [])),
      );
    return {
      ports: (sb.spec.forwardedPorts ?? []).map((p) => view(sb, p, listening?.has(p.port))),
    };
  });

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/ports', async (req, reply) => {
    const { id } = req.params;
    const body = parseOrThrow(forwardedPortSchema, req.body ?? {}, 'port');
    const sb = await updatePorts(namespaceOf(req.query), id, (ports) => addPort(ports, body));
    reply.code(201);
    return view(
      sb,
      sb.spec.forwardedPorts!.find((p) => p.port === body.port)!,
    );
  });

  app.delete<PortRoute>('/api/v1/sandboxes/:id/ports/:port', async (req, reply) => {
    const { id, port } = req.params;
    // A port number (idempotent: an unforwarded port is 204) or a forward's name (404 when none has it,
    // so a mistyped name is not taken for success).
    if (/^[0-9]+$/.test(port)) {
      const n = parsePort(port);
      await updatePorts(namespaceOf(req.query), id, (ports) => ports.filter((p) => p.port !== n));
    } else {
      const name = parseOrThrow(forwardedPortSchema.shape.name, port, 'port name', 'port');
      await updatePorts(namespaceOf(req.query), id, (ports) => {
        if (!ports.some((p) => p.name === name))
          throw new PlatformError('PORT_NOT_FOUND', `no port forward named "${name}" in sandbox ${id}`);
        return ports.filter((p) => p.name !== name);
      });
    }
    reply.code(204);
    return null;
  });

  // A browser cannot send an API key with a page load: this mints a single-use link that the preview
  // origin swaps for a session cookie good for this sandbox port only (docs/security.md).
  app.post<PortRoute>('/api/v1/sandboxes/:id/ports/:port/preview-link', async (req, reply) => {
    const { id, port: portText } = req.params;
    const port = parsePort(portText);
    const body = parseOrThrow(previewLinkRequestSchema, req.body ?? {}, 'preview link');
    const path = checkPreviewPath(body.path);
    const sb = await getSandboxOrThrow(store, namespaceOf(req.query), id);
    if (!(sb.spec.forwardedPorts ?? []).some((p) => p.port === port))
      throw new PlatformError(
        'PORT_NOT_FOUND',
        `port ${port} is not forwarded; forward it with POST /api/v1/sandboxes/${id}/ports {"port": ${port}}`,
      );
    const target = { port, name: sb.metadata.name, namespace: sb.metadata.namespace ?? DEFAULT_NAMESPACE };
    const previewUrl = previewUrlOf(deps.previewOrigin(), target);
    const link = deps.previewSessions.mint(req.identity, target, path);
    reply.code(201).header('cache-control', 'no-store');
    const answer: PreviewLink = {
      url: `${previewUrl.slice(0, -1)}${PREVIEW_SESSION_PATH}?token=${link.token}`,
      expiresAt: link.expiresAt,
      previewUrl,
    };
    return answer;
  });

  // The old path form: sandbox content never comes from the API's origin any more, only a redirect to
  // the preview's own origin (307 keeps the method and body of a form post).
  const redirect = async (req: FastifyRequest, reply: FastifyReply) => {
    const to = previewRedirectOf(req.url, deps.previewOrigin());
    if (!to) throw new PlatformError('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(307).header('location', to).send();
  };
  app.all('/api/v1/sandboxes/:id/preview/:port', redirect);
  app.all('/api/v1/sandboxes/:id/preview/:port/*', redirect);
}
