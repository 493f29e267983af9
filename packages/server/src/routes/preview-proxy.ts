import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import { HOP_BY_HOP_HEADERS, splice } from '@agenttier/contract/tunnel';
import type { Store } from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { isRouterCookieName } from '../auth/preview-sessions.ts';
import { fromSandboxdError } from '../data-plane/sandboxd-data-plane.ts';
import type { PreviewTarget } from '../http/preview-host.ts';
import type { SandboxService } from '../sandbox-service.ts';
import { getSandboxOrThrow, requireRunning } from '../sandbox-service.ts';
import { filterUpgradeResponseHead, readUpgradeHead } from './preview-upgrade-head.ts';

export interface PreviewProxyDeps {
  store: Store;
  sandboxes: SandboxService;
  sandboxdFor: (sandbox: Sandbox) => SandboxdClient | undefined;
}

/**
 * Never sent on into the sandbox: the caller's credentials for the router (whatever runs in the sandbox
 * could replay them against the API). `host` is replaced with the sandbox-side address.
 */
export const PREVIEW_STRIPPED = new Set(['authorization', 'x-api-key', 'host']);

/**
 * Response headers a sandbox may not send to the browser, because each widens what the preview origin
 * (or a site the sandbox names) can do beyond its own origin:
 * - `service-worker-allowed`: widens a service worker's scope;
 * - `access-control-*`: would let other sites read the preview with the user's credentials for it;
 * - `clear-site-data`: its "cookies" type wipes cookies of the whole site (`localhost`), the API's too;
 * - `alt-svc`: points the preview origin's future traffic at another host or port.
 * `Set-Cookie` is kept but loses `Domain`, so a cookie stays on the preview's own host.
 */
export function isScopeWideningHeader(name: string): boolean {
  const k = name.toLowerCase();
  return (
    k === 'service-worker-allowed' ||
    k.startsWith('access-control-') ||
    k === 'clear-site-data' ||
    k === 'alt-svc' ||
    k === 'timing-allow-origin'
  );
}

/** The Cookie header without the router's own cookies (`agenttier…`, `__Host-agenttier…`); undefined when none left. */
export function previewCookie(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const pairs = (Array.isArray(header) ? header.join('; ') : header)
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && !isRouterCookieName(p.split('=')[0]!));
  return pairs.length ? pairs.join('; ') : undefined;
}

/**
 * The app's Set-Cookie headers, kept on the preview's own host: `Domain` is removed (with it a cookie
 * would reach the API's host and every other preview under the same parent domain) and the router's
 * own names (`agenttier…`) are refused.
 */
export function previewSetCookies(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const out: string[] = [];
  for (const cookie of Array.isArray(header) ? header : [header]) {
    const [pair = '', ...attrs] = cookie.split(';');
    const name = pair.split('=')[0]!.trim();
    if (!name || isRouterCookieName(name)) continue;
    const kept = attrs.map((a) => a.trim()).filter((a) => a && !/^domain\s*(=|$)/i.test(a));
    out.push([pair.trim(), ...kept].join('; '));
  }
  return out;
}

/** Request headers the preview proxy passes into the sandbox: no credentials, host or hop-by-hop. */
export function previewRequestHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP_HEADERS.has(k) || PREVIEW_STRIPPED.has(k)) continue;
    if (k === 'cookie') {
      const kept = previewCookie(v);
      if (kept) out[k] = kept;
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** Response headers from the sandbox as the browser gets them (see isScopeWideningHeader). */
export function previewResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP_HEADERS.has(k) || isScopeWideningHeader(k)) continue;
    if (k === 'set-cookie') {
      const cookies = previewSetCookies(v);
      if (cookies.length) out[k] = cookies;
      continue;
    }
    out[k] = v;
  }
  return out;
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new PlatformError('BAD_REQUEST', `invalid port: ${text} (must be 1-65535)`);
  return port;
}

/** Checks a preview target and opens a byte tunnel to 127.0.0.1:port inside the sandbox. */
export async function openPreviewTunnel(
  deps: PreviewProxyDeps,
  target: PreviewTarget,
): Promise<{ sb: Sandbox; tunnel: Socket }> {
  const { name, port } = target;
  const sb = await getSandboxOrThrow(deps.store, target.namespace, name);
  requireRunning(sb);
  if (!(sb.spec.forwardedPorts ?? []).some((p) => p.port === port)) {
    throw new PlatformError(
      'PORT_NOT_FOUND',
      `port ${port} is not forwarded; forward it with POST /api/v1/sandboxes/${name}/ports {"port": ${port}}`,
    );
  }
  const client = deps.sandboxdFor(sb);
  if (!client)
    throw new PlatformError('UNAVAILABLE', `sandbox ${name} runs without sandboxd; ports cannot be reached`);
  try {
    return { sb, tunnel: (await client.tcpTunnel(port, { timeoutMs: 5000 })) as Socket };
  } catch (err) {
    const message = (fromSandboxdError(err) as Error).message;
    throw new PlatformError(
      'UPSTREAM_UNREACHABLE',
      `port forward upstream unreachable: ${message}; is something listening on 127.0.0.1:${port} inside the sandbox?`,
    );
  }
}

/**
 * The preview proxy: requests whose Host is a preview origin go to 127.0.0.1:PORT inside the sandbox
 * (which has no network) through sandboxd, and nothing else; the path and query are the app's own.
 */
export function createPreviewProxy(deps: PreviewProxyDeps) {
  /** In-flight exchanges and tunnels: cut when the server closes. */
  const live = new Set<Duplex>();
  const track = (s: Duplex): void => {
    live.add(s);
    s.once('close', () => live.delete(s));
  };

  /** Proxies one HTTP request; throws (before anything is written) when the target cannot be reached. */
  async function http(req: IncomingMessage, res: ServerResponse, target: PreviewTarget): Promise<void> {
    const { sb, tunnel } = await openPreviewTunnel(deps, target);
    track(tunnel);
    res.once('close', () => tunnel.destroy());
    void deps.sandboxes.touch(sb, Date.now());
    const headers = previewRequestHeaders(req.headers);
    headers.host = `127.0.0.1:${target.port}`;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    // No `agent` option: with `agent: false` Node ignores createConnection and dials the host itself.
    const upstream = httpRequest({
      createConnection: () => tunnel,
      method: req.method,
      path: req.url ?? '/',
      headers,
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      upstream.once('response', resolve);
      upstream.once('error', reject);
    });
    req.pipe(upstream);
    let up: IncomingMessage;
    try {
      up = await response;
    } catch (err) {
      tunnel.destroy();
      throw new PlatformError(
        'UPSTREAM_UNREACHABLE',
        `port forward upstream unreachable: ${(err as Error).message}`,
      );
    }
    res.writeHead(up.statusCode ?? 502, previewResponseHeaders(up.headers));
    up.pipe(res);
  }

  /** Proxies a WebSocket (or any Upgrade) handshake and then the bytes both ways. */
  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: PreviewTarget) {
    const { sb, tunnel } = await openPreviewTunnel(deps, target);
    track(tunnel);
    if (socket.destroyed) return void tunnel.destroy();
    void deps.sandboxes.touch(sb, Date.now());
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const key = req.rawHeaders[i]!;
      const lower = key.toLowerCase();
      if (
        PREVIEW_STRIPPED.has(lower) ||
        (HOP_BY_HOP_HEADERS.has(lower) && lower !== 'upgrade' && lower !== 'connection')
      )
        continue;
      if (lower === 'cookie') {
        const kept = previewCookie(req.rawHeaders[i + 1]);
        if (kept) lines.push(`${key}: ${kept}`);
        continue;
      }
      lines.push(`${key}: ${req.rawHeaders[i + 1]}`);
    }
    lines.push(`Host: 127.0.0.1:${target.port}`);
    tunnel.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) tunnel.write(head);
    // The sandbox's handshake answer gets the same header filter as an HTTP response (Set-Cookie
    // Domain, scope-widening headers); only the bytes after it are relayed untouched.
    let answer: { head: string; rest: Buffer };
    let filtered: string;
    try {
      answer = await readUpgradeHead(tunnel);
      filtered = filterUpgradeResponseHead(answer.head);
    } catch (err) {
      tunnel.destroy();
      throw err;
    }
    if (socket.destroyed) return void tunnel.destroy();
    socket.write(filtered);
    if (answer.rest.length) socket.write(answer.rest);
    splice(tunnel, socket);
  }

  function closeAll(): void {
    for (const s of live) s.destroy();
    live.clear();
  }

  return { http, upgrade, closeAll };
}

export type PreviewProxy = ReturnType<typeof createPreviewProxy>;
