import type { sandboxCommand } from './command.ts';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { HOP_BY_HOP_HEADERS, splice } from '@agenttier/contract/tunnel';
import type { Sandbox } from '@agenttier/sdk';
import { AgentTierError, ConflictError, NotFoundError } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { CliError, EXIT, UsageError, describeError } from '../../errors.ts';
import { str } from '../../flags.ts';
import type { HandlerOf } from '../../spec.ts';
import {
  gateFirstBytes,
  isLoopbackAddress,
  isLoopbackHost,
  refusalFor,
  refusalText,
} from './forward-host-gate.ts';
import { parsePortArg } from './ports.ts';
import { sandboxHandle } from './processes.ts';

/** Pause reading from the local socket while this much is queued towards the sandbox. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

/** Hop-by-hop headers (RFC 9110 §7.6.1), and `host`: the request goes to the API's host. */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_HEADERS, 'host']);

export type ForwardMode = 'tcp' | 'http';

/** `8000` → 8000:8000, `18000:8000`, `:8000` → a free local port for 8000. */
export function parsePortPair(text: string): { local: number; remote: number } {
  const m = /^(\d*):(\d+)$/.exec(text.trim());
  if (m) {
    return {
      local: m[1] === '' ? 0 : parsePortArg(m[1], 'LOCAL', 0),
      remote: parsePortArg(m[2], 'REMOTE'),
    };
  }
  if (/^\d+$/.test(text.trim())) {
    const port = parsePortArg(text, 'PORT');
    return { local: port, remote: port };
  }
  throw new UsageError(
    `expected LOCAL:REMOTE or PORT, got "${text}"`,
    'For example: agenttier sandbox port-forward demo 8000 (or 18000:8000)',
  );
}

/**
 * Decides how to carry connections: raw TCP over `/ws/tcp` when the server has that route (a probe
 * connection tells: 404 `NOT_FOUND` means no route; a 502 means the route exists but nothing listens
 * yet), else the HTTP/WebSocket reverse proxy through the preview URL.
 */
async function chooseMode(client: Client, sandbox: Sandbox, remote: number): Promise<ForwardMode> {
  try {
    const probe = await sandbox.ports.connect(remote, { signal: client.signal });
    probe.close();
    return 'tcp';
  } catch (err) {
    if (err instanceof NotFoundError && err.code === 'NOT_FOUND') return 'http';
    if (err instanceof AgentTierError && err.status === 502) {
      client.warn(
        `nothing listens on port ${remote} inside ${sandbox.name} yet; connections fail until something does`,
      );
      return 'tcp';
    }
    throw err;
  }
}

function warnConnection(client: Client, what: string, err: unknown): void {
  const report = describeError(err, { commandPath: ['sandbox', 'port-forward'], subject: what });
  client.warn(`${what}: ${report.message}`);
}

/** One local TCP connection carried as binary WebSocket frames, with backpressure both ways. */
async function tunnelConnection(
  client: Client,
  sandbox: Sandbox,
  remote: number,
  sock: Socket,
  checkHost: boolean,
): Promise<void> {
  sock.pause();
  let channel;
  try {
    channel = await sandbox.ports.connect(remote, { signal: client.signal });
  } catch (err) {
    warnConnection(client, `connection from ${sock.remoteAddress}:${sock.remotePort}`, err);
    sock.destroy();
    return;
  }
  const tunnel = channel;
  tunnel.onMessage((data) => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (!sock.write(bytes)) {
      tunnel.pause();
      sock.once('drain', () => tunnel.resume());
    }
  });
  tunnel.onClose(() => sock.end());
  let waiting: ReturnType<typeof setInterval> | undefined;
  // Until the first bytes show the connection is not an HTTP request for another host (DNS
  // rebinding: forward-host-gate.ts), nothing goes to the sandbox; its own bytes still come back.
  let held: Buffer | undefined = checkHost ? Buffer.alloc(0) : undefined;
  sock.on('data', (data: Buffer) => {
    let chunk = data;
    if (held !== undefined) {
      held = Buffer.concat([held, data]);
      const verdict = gateFirstBytes(held);
      if (verdict.kind === 'more') return;
      if (verdict.kind === 'refuse') {
        held = undefined;
        tunnel.close();
        sock.end(refusalFor(verdict.host));
        return;
      }
      chunk = held;
      held = undefined;
    }
    tunnel.send(chunk);
    if (tunnel.bufferedAmount > HIGH_WATER && !waiting) {
      sock.pause();
      waiting = setInterval(() => {
        if (tunnel.bufferedAmount < LOW_WATER || !tunnel.isOpen) {
          clearInterval(waiting);
          waiting = undefined;
          sock.resume();
        }
      }, 10);
    }
  });
  // A WebSocket cannot half-close: the end of the local side ends the connection.
  sock.on('end', () => tunnel.close());
  sock.on('close', () => {
    clearInterval(waiting);
    tunnel.close();
  });
  sock.on('error', () => tunnel.close());
  sock.resume();
}

interface ProxyTarget {
  /** The preview origin of the port, `http://8000-demo--default.localhost:8080` (no trailing slash). */
  previewOrigin: string;
  /**
   * Where to connect: the preview origin itself, or for a `*.localhost` preview the API's address (Node
   * does not resolve `*.localhost`; the router tells previews apart by the Host header alone).
   */
  connectOrigin: string;
  /** Credentials for the AgentTier API. */
  auth: Record<string, string>;
  remote: number;
  localOrigin: () => string;
  /** Refuse requests whose Host is not a loopback name (the forward listens on loopback). */
  checkHost: boolean;
}

function targetUrl(t: ProxyTarget, reqUrl: string): URL {
  return new URL(`${t.connectOrigin}${reqUrl.startsWith('/') ? reqUrl : `/${reqUrl}`}`);
}

function forwardHeaders(
  t: ProxyTarget,
  headers: IncomingHttpHeaders,
  keep: string[] = [],
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && (!HOP_BY_HOP.has(k) || keep.includes(k))) out[k] = v;
  }
  // The local page's Origin is not the preview's; the preview origin is what the app expects to see.
  if (out.origin !== undefined) out.origin = t.previewOrigin;
  return { ...out, ...t.auth, host: new URL(t.previewOrigin).host };
}

/** Points redirects at the sandbox (or at its preview origin) back at the local listener. */
function rewriteLocation(t: ProxyTarget, location: string): string {
  const inside = `http://127.0.0.1:${t.remote}`;
  if (location.startsWith(inside)) return t.localOrigin() + location.slice(inside.length);
  if (location.startsWith(t.previewOrigin)) return t.localOrigin() + location.slice(t.previewOrigin.length);
  return location;
}

function send(url: URL) {
  return url.protocol === 'https:' ? httpsRequest : httpRequest;
}

/** A local HTTP server that relays requests and WebSocket upgrades to the sandbox's preview URL. */
function createProxy(client: Client, t: ProxyTarget): Server {
  const server = createHttpServer((req, res) => {
    if (t.checkHost && !isLoopbackHost(req.headers.host)) {
      res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(refusalText(req.headers.host ?? '(none)'));
      return;
    }
    const url = targetUrl(t, req.url ?? '/');
    const upstream = send(url)(url, { method: req.method, headers: forwardHeaders(t, req.headers) });
    upstream.on('response', (up: IncomingMessage) => {
      const headers: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(up.headers)) {
        if (v === undefined || HOP_BY_HOP.has(k)) continue;
        headers[k] = k === 'location' && typeof v === 'string' ? rewriteLocation(t, v) : v;
      }
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      warnConnection(client, `${req.method} ${req.url}`, err);
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`agenttier port-forward: cannot reach the AgentTier API: ${err.message}\n`);
      } else {
        res.destroy();
      }
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    if (t.checkHost && !isLoopbackHost(req.headers.host)) {
      socket.end(refusalFor(req.headers.host ?? '(none)'));
      return;
    }
    const url = targetUrl(t, req.url ?? '/');
    const upstream = send(url)(url, {
      method: req.method,
      headers: forwardHeaders(t, req.headers, ['upgrade', 'connection']),
    });
    upstream.on('upgrade', (res: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      const lines = [`HTTP/1.1 ${res.statusCode ?? 101} ${res.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2)
        lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      splice(socket, upSocket);
    });
    upstream.on('response', (res: IncomingMessage) => {
      // Refused (e.g. the port is not listening): hand the answer back as it is.
      const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (!HOP_BY_HOP.has(String(res.rawHeaders[i]).toLowerCase())) {
          lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        }
      }
      lines.push('connection: close');
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      res.pipe(socket);
    });
    upstream.on('error', (err) => {
      warnConnection(client, `WebSocket ${req.url}`, err);
      socket.destroy();
    });
    upstream.end();
  });
  return server;
}

function listen(server: Server, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * `sandbox port-forward NAME LOCAL:REMOTE`: listens on LOCAL and carries each connection to REMOTE
 * inside the sandbox — as raw TCP when the server offers `/ws/tcp`, otherwise as HTTP and WebSocket
 * through the preview proxy (the port is forwarded first). Runs until Ctrl-C.
 */
export const portForward: HandlerOf<typeof sandboxCommand, 'port-forward'> = async (
  client,
  { args, opts },
) => {
  const name = args[0];
  const { local, remote } = parsePortPair(String(args[1]));
  const address = str(opts.address) ?? '127.0.0.1';
  const sandbox = sandboxHandle(client, name);
  await sandbox.refresh({ signal: client.signal });
  if (sandbox.status !== 'Running') {
    throw new ConflictError(`sandbox "${name}" is not running (phase ${sandbox.status})`, {
      code: 'SANDBOX_NOT_RUNNING',
      status: 409,
    });
  }
  const wanted = str(opts.mode) ?? 'auto';
  const mode: ForwardMode =
    wanted === 'auto' ? await chooseMode(client, sandbox, remote) : (wanted as ForwardMode);

  const sockets = new Set<Socket | Duplex>();
  let server: Server;
  let boundPort = 0;
  if (mode === 'tcp') {
    server = createNetServer(
      { pauseOnConnect: true },
      (sock) => void tunnelConnection(client, sandbox, remote, sock, isLoopbackAddress(address)),
    );
  } else {
    const view = await sandbox.ports.forward(remote, { signal: client.signal });
    if (!view.previewUrl)
      throw new CliError(
        `sandbox "${name}" has no preview URL (a name with "--" cannot be a preview host name)`,
        EXIT.ERROR,
        `Use --mode tcp: agenttier sandbox port-forward ${name} ${local}:${remote} --mode tcp`,
      );
    const previewOrigin = new URL(view.previewUrl).origin;
    const settings = client.settings;
    server = createProxy(client, {
      previewOrigin,
      connectOrigin: new URL(previewOrigin).hostname.endsWith('.localhost')
        ? new URL(settings.apiUrl).origin
        : previewOrigin,
      auth: settings.apiKey
        ? { 'x-api-key': settings.apiKey }
        : settings.token
          ? { authorization: `Bearer ${settings.token}` }
          : {},
      remote,
      localOrigin: () => `http://${address.includes(':') ? `[${address}]` : address}:${boundPort}`,
      checkHost: isLoopbackAddress(address),
    });
  }
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    boundPort = await listen(server, local, address);
  } catch (err) {
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new CliError(
        `local port ${local} on ${address} is already in use`,
        EXIT.ERROR,
        `Pick another one, e.g. \`agenttier sandbox port-forward ${name} ${local + 10000 <= 65535 ? local + 10000 : 0}:${remote}\``,
      );
    }
    throw err;
  }
  const host = address.includes(':') ? `[${address}]` : address;
  const info = {
    name,
    address,
    localPort: boundPort,
    remotePort: remote,
    mode,
    url: `http://${host}:${boundPort}`,
  };
  if (client.output === 'table') {
    client.log(
      mode === 'tcp'
        ? `Forwarding ${host}:${boundPort} -> ${name}:${remote} (raw TCP)`
        : `Forwarding http://${host}:${boundPort} -> ${name}:${remote} (HTTP and WebSocket through the preview proxy)`,
    );
    client.log('Press Ctrl-C to stop.');
  } else {
    client.print(info, () => '');
  }

  await untilAborted(client.signal);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
  if (client.output === 'table') client.log('Stopped forwarding.');
  return EXIT.OK;
};
