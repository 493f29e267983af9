import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';

import type { Store } from '@agenttier/core';
import { resolveEffectiveSandbox, templateLookup } from '@agenttier/core';
import type { SandboxdClient, TerminalConnection } from '@agenttier/sandboxd';
import { SandboxdError } from '@agenttier/sandboxd';
import type { AccessControl } from '../auth/access-control.ts';
import { sandboxAllows } from '../auth/access-control.ts';
import type { SandboxVerb } from '../auth/sandbox-verbs.ts';
import type { AccessAudit, AccessAuditEntry } from '../auth/access-audit.ts';
import type { Authenticator } from '../context.ts';
import { fromSandboxdError } from '../data-plane/sandboxd-data-plane.ts';
import { toWireError } from '../errors.ts';
import type { SandboxService } from '../sandbox-service.ts';
import { requireRunning } from '../sandbox-service.ts';
import type { RequestGuards } from '../http/guards.ts';
import { OLD_PREVIEW_RE, previewRedirectOf } from './ports.ts';
import type { PreviewSessions } from '../auth/preview-sessions.ts';
import { authenticatePreview } from '../http/guards.ts';
import { selectWebSocketProtocol } from '../auth/session-binding.ts';
import type { PreviewProxy } from './preview-proxy.ts';
import { parsePort } from './preview-proxy.ts';
import { namespaceOf } from './sandboxes.ts';
import { holdWhileBuffered } from './ws-backpressure.ts';
import type { TrustsProxy } from '../http/trusted-proxies.ts';
import { clientAddressOf } from '../http/trusted-proxies.ts';

export interface UpgradeDeps {
  store: Store;
  sandboxes: SandboxService;
  sandboxdFor: (sandbox: Sandbox) => SandboxdClient | undefined;
  authenticate: Authenticator;
  /** Owner-or-admin check of the sandbox a terminal, tunnel or preview reaches. */
  access: AccessControl;
  /** Host and Origin checks, shared with plain requests. */
  guards: RequestGuards;
  /** Proxies upgrades for a preview Host. */
  preview?: PreviewProxy;
  /** Browser sessions on preview origins (a WebSocket from a preview page carries its cookie). */
  previewSessions?: PreviewSessions;
  /** Audit trail of attaches (and refused ones). */
  audit?: AccessAudit;
  /** Proxies whose X-Forwarded-For names the client (app.ts `trustedProxies`); absent: the peer is. */
  trustsProxy?: TrustsProxy;
}

const TERMINAL_RE = /^\/ws\/terminal\/([a-z0-9][-a-z0-9]*)$/;
/** Raw TCP over a WebSocket (binary frames), for `agenttier sandbox port-forward`. */
const TCP_RE = /^\/ws\/tcp\/([a-z0-9][-a-z0-9]*)\/(\d+)$/;
const SESSION_RE = /^[A-Za-z0-9._-]{1,64}$/;
const HEARTBEAT_MS = 30_000;

/** How a terminal attach may act: viewers (`terminal-view` only) watch, others type. */
export type TerminalMode = 'read-only' | 'read-write';
/** 101 response header naming the attach's mode, for clients that can read upgrade headers. */
export const TERMINAL_MODE_HEADER = 'x-agenttier-terminal-mode';
/** Sent once to a read-only viewer whose input was dropped. */
const READ_ONLY_MESSAGE =
  'read-only terminal: you have viewer access to this sandbox, so your input and resizes are dropped';

/** Whether a client frame is a keep-alive ping (the only frame a read-only viewer may send). */
function isPingFrame(text: string): boolean {
  try {
    const f = JSON.parse(text) as unknown;
    return typeof f === 'object' && f !== null && (f as { type?: unknown }).type === 'ping';
  } catch {
    return false;
  }
}
/**
 * How often an open terminal, tunnel or preview WebSocket re-checks the credential and access it was
 * let in with. A revoked key, an ended session or a removed share cuts it within this time, instead of
 * lasting as long as the connection does.
 */
const ACCESS_RECHECK_MS = 1000;
/** Statuses that mean the caller may no longer attach; anything else (a store hiccup) keeps it open. */
const ACCESS_GONE = new Set([401, 403, 404]);

/** `close` reasons the reference's web UI knows (reference §4.6). */
const REFERENCE_CLOSE_REASONS = new Set([
  'sandbox_stopped',
  'sandbox_deleted',
  'idle_timeout',
  'session_expired',
  'access_revoked',
  'error',
]);

/** sandboxd's reasons in the reference's vocabulary: a session that is gone is, to that UI, expired. */
const TO_REFERENCE_REASON: Record<string, string> = {
  session_ended: 'session_expired',
  session_killed: 'session_expired',
};

/**
 * The `close` frame a viewer gets. Viewers that name a session (our SDK and CLI always do) get
 * sandboxd's reasons as they are (`session_ended` with `exitCode` is how `agenttier sandbox terminal`
 * exits with the shell's status). The reference's web UI opens `/ws/terminal/{id}` without a session
 * and knows only the reference's reasons, so it gets those; other fields are kept.
 */
export function terminalCloseFrameFor<F extends { type: string; reason?: unknown }>(
  frame: F,
  namedSession: boolean,
): F {
  if (frame.type !== 'close' || namedSession) return frame;
  const reason = String(frame.reason ?? '');
  if (REFERENCE_CLOSE_REASONS.has(reason)) return frame;
  return { ...frame, reason: TO_REFERENCE_REASON[reason] ?? 'error' };
}

/** The HTTP status a refused upgrade answers. */
function statusOf(err: unknown, requestId: string): number {
  return toWireError(fromSandboxdError(err), requestId).status;
}

/** Answers a refused upgrade with a plain HTTP error (the socket never becomes a WebSocket). */
function refuse(socket: Duplex, err: unknown, requestId: string): void {
  const { status, body, headers } = toWireError(fromSandboxdError(err), requestId);
  const json = JSON.stringify(body);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nx-request-id: ${requestId}\r\n${extra}connection: close\r\n\r\n${json}`,
  );
}

/**
 * WebSocket upgrades on the router's server: `GET /ws/terminal/{id}` (reference §4.6 frames, sessions
 * owned by sandboxd so a reconnect re-attaches and replays) and WebSockets through the preview proxy.
 */
export function registerUpgrades(app: FastifyInstance, deps: UpgradeDeps): void {
  // Answers `agenttier` to the web UI's subprotocols, never its session binding (auth/session-binding.ts).
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: selectWebSocketProtocol,
  });
  const lookup = templateLookup(deps.store);
  let seq = 0;
  let closing = false;
  /** Client sockets being upgraded or proxied, and tunnels into sandboxes: cut when the server closes. */
  const live = new Set<Duplex>();
  const track = (s: Duplex): void => {
    live.add(s);
    s.once('close', () => live.delete(s));
  };

  // preClose, not onClose: Fastify's server.close() waits for every open connection before onClose
  // hooks run, and upgraded sockets never go idle, so `npm run up` would not exit on Ctrl-C.
  app.addHook('preClose', async () => {
    closing = true;
    for (const ws of wss.clients) ws.terminate();
    for (const s of live) s.destroy();
    live.clear();
  });

  /** Re-runs `recheck` while `socket` is open and cuts it (audited) once access is gone. */
  const keepAuthorized = (
    socket: Duplex,
    recheck: () => Promise<unknown>,
    audited: Omit<AccessAuditEntry, 'status'>,
  ): void => {
    if (socket.destroyed) return;
    let checking = false;
    const timer = setInterval(() => {
      if (checking) return;
      checking = true;
      recheck().then(
        () => (checking = false),
        (err: unknown) => {
          checking = false;
          const status = statusOf(err, audited.requestId);
          if (!ACCESS_GONE.has(status) || socket.destroyed) return;
          clearInterval(timer);
          deps.audit?.attach({ ...audited, action: `${audited.action} cut`, status });
          socket.destroy();
        },
      );
    }, ACCESS_RECHECK_MS);
    timer.unref();
    socket.once('close', () => clearInterval(timer));
  };

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const requestId = `ws-${Date.now().toString(36)}-${(seq++).toString(36)}`;
    if (closing) {
      refuse(socket, new PlatformError('UNAVAILABLE', 'the server is shutting down'), requestId);
      return;
    }
    track(socket);
    // What the audit trail records about this attach, filled in as the handshake gets further.
    const address = clientAddressOf(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      deps.trustsProxy,
    );
    const audited: Omit<AccessAuditEntry, 'status'> = {
      action: 'WS unmatched',
      requestId,
      source: address,
    };
    void (async () => {
      try {
        // Host allow-list and Origin first: a page on another site must not get a terminal.
        const kind = deps.guards.checkUpgrade(req);
        if (kind.kind === 'preview') {
          audited.action = 'WS preview';
          audited.target = `sandbox:${kind.target.namespace}/${kind.target.name}:${kind.target.port}`;
          const who = await authenticatePreview(deps, req.headers, kind.target, address);
          audited.who = who;
          await deps.access.requireSandbox(who, kind.target.namespace, kind.target.name, 'ports');
          deps.guards.holdWebSocket(who, address, socket);
          if (!deps.preview)
            throw new PlatformError('UNAVAILABLE', 'previews need sandboxd, which this router runs without');
          await deps.preview.upgrade(req, socket, head, kind.target);
          if (!socket.destroyed) deps.audit?.attach({ ...audited, status: 101 });
          keepAuthorized(
            socket,
            async () => {
              const again = await authenticatePreview(deps, req.headers, kind.target, address);
              await deps.access.requireSandbox(again, kind.target.namespace, kind.target.name, 'ports');
            },
            audited,
          );
          return;
        }
        const terminal = TERMINAL_RE.exec(url.pathname);
        const tcp = TCP_RE.exec(url.pathname);
        const ns = namespaceOf(Object.fromEntries(url.searchParams));
        if (terminal || tcp) {
          audited.action = terminal ? 'WS /ws/terminal/:id' : 'WS /ws/tcp/:id/:port';
          audited.target = `sandbox:${ns}/${(terminal ?? tcp)![1]}`;
        }
        const who = await deps.authenticate(req.headers, { address });
        audited.who = who;
        // Held connections re-check from the request's credentials each time, not the first `who`.
        const reauthorize = (name: string, verb: SandboxVerb) => async () =>
          deps.access.requireSandbox(await deps.authenticate(req.headers, { address }), ns, name, verb);
        if (terminal) {
          // Anyone who may watch gets in; only those who may also type get a read-write terminal.
          const sb = await deps.access.requireSandbox(who, ns, terminal[1]!, 'terminal-view');
          deps.guards.holdWebSocket(who, address, socket);
          const mode: TerminalMode = sandboxAllows(who, sb, 'terminal') ? 'read-write' : 'read-only';
          audited.detail = mode;
          await openTerminal(req, socket, head, sb, url, mode);
          if (!socket.destroyed) deps.audit?.attach({ ...audited, status: 101 });
          // A read-write attach re-checks the read-write verb: an operator turned viewer is cut, and
          // re-attaches read-only.
          const verb = mode === 'read-write' ? 'terminal' : 'terminal-view';
          keepAuthorized(socket, reauthorize(terminal[1]!, verb), audited);
          return;
        }
        if (tcp) {
          const sb = await deps.access.requireSandbox(who, ns, tcp[1]!, 'ports');
          deps.guards.holdWebSocket(who, address, socket);
          await openTcp(req, socket, head, sb, parsePort(tcp[2]!));
          if (!socket.destroyed) deps.audit?.attach({ ...audited, status: 101 });
          keepAuthorized(socket, reauthorize(tcp[1]!, 'ports'), audited);
          return;
        }
        // WebSockets cannot follow a redirect: the old path form answers where the preview lives now.
        if (OLD_PREVIEW_RE.test(req.url ?? ''))
          throw new PlatformError(
            'NOT_FOUND',
            `previews moved to their own origin; connect to ${previewRedirectOf(req.url ?? '', deps.guards.previewOrigin())?.replace(/^http/, 'ws')}`,
          );
        throw new PlatformError('NOT_FOUND', `no WebSocket route for ${url.pathname}`);
      } catch (err) {
        if (audited.target) deps.audit?.attach({ ...audited, status: statusOf(err, requestId) });
        if (!socket.destroyed) refuse(socket, err, requestId);
      }
    })();
  });

  async function openTerminal(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    sb: Sandbox,
    url: URL,
    mode: TerminalMode,
  ) {
    const name = sb.metadata.name;
    requireRunning(sb);
    const client = deps.sandboxdFor(sb);
    if (!client)
      throw new PlatformError('UNAVAILABLE', `sandbox ${name} runs without sandboxd; terminals need it`);
    const named = url.searchParams.has('session');
    const session = url.searchParams.get('session') ?? 'main';
    if (!SESSION_RE.test(session))
      throw new PlatformError('BAD_REQUEST', 'session must match [A-Za-z0-9._-]{1,64}');
    const readOnly = mode === 'read-only';
    const upstream = readOnly
      ? await attachReadOnly(client, session, name)
      : await openReadWrite(client, session, sb, url);
    if (closing || socket.destroyed) return upstream.close();
    const announceMode = (headers: string[]): void => {
      headers.push(`${TERMINAL_MODE_HEADER}: ${mode}`);
    };
    wss.once('headers', announceMode);
    try {
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) =>
        relayTerminal(ws, upstream, sb, named, readOnly),
      );
    } finally {
      wss.off('headers', announceMode);
    }
  }

  async function openReadWrite(
    client: SandboxdClient,
    session: string,
    sb: Sandbox,
    url: URL,
  ): Promise<TerminalConnection> {
    const { effective } = await resolveEffectiveSandbox(sb, lookup).catch(() => ({ effective: undefined }));
    const num = (k: string, d: number) =>
      Math.min(1000, Math.max(1, Number(url.searchParams.get(k) ?? d) || d));
    return client
      .terminal({
        session,
        cols: num('cols', 120),
        rows: num('rows', 40),
        ...(effective ? { shell: effective.shell, cwd: effective.workingDir } : {}),
      })
      .catch((err: unknown) => {
        throw fromSandboxdError(err);
      });
  }

  /**
   * A viewer's attach: to a session that is already open, never starting a shell (`create: false`), and
   * without the size parameters, which would resize the terminal the others are typing in.
   */
  async function attachReadOnly(client: SandboxdClient, session: string, name: string) {
    const notOpen = () =>
      new PlatformError(
        'NOT_FOUND',
        `terminal session ${session} is not open in sandbox ${name}; you have read-only access, so you can watch a session someone with terminal access started but not start one`,
      );
    const upstream = await client.terminal({ session, create: false }).catch((err: unknown) => {
      if (err instanceof SandboxdError && err.code === 'not_found') throw notOpen();
      throw fromSandboxdError(err);
    });
    if (upstream.created) {
      // A sandboxd that predates `create=false` started a shell anyway: end it and refuse.
      upstream.close();
      await client.killTerminal(upstream.session).catch(() => undefined);
      throw notOpen();
    }
    return upstream;
  }

  function relayTerminal(
    ws: WebSocket,
    upstream: TerminalConnection,
    sb: Sandbox,
    named: boolean,
    readOnly: boolean,
  ): void {
    void deps.sandboxes.touch(sb, Date.now());
    let alive = true;
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, HEARTBEAT_MS);
    ping.unref();
    ws.on('pong', () => (alive = true));
    upstream.on('frame', (frame, text) => {
      if (ws.readyState !== ws.OPEN) return;
      const out = terminalCloseFrameFor(frame, named);
      ws.send(out === frame ? text : JSON.stringify(out));
      holdWhileBuffered(ws, upstream);
    });
    upstream.on('close', () => {
      clearInterval(ping);
      if (ws.readyState === ws.OPEN) ws.close(1000, 'session ended');
    });
    let toldReadOnly = false;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      if (readOnly) {
        // Only pings pass: input, resize and anything unknown from a viewer never reach the shell.
        if (isPingFrame(data.toString())) upstream.sendRaw('{"type":"ping"}');
        else if (!toldReadOnly && ws.readyState === ws.OPEN) {
          toldReadOnly = true;
          ws.send(JSON.stringify({ type: 'error', message: READ_ONLY_MESSAGE }));
        }
        return;
      }
      // Frames are relayed as they are; sandboxd ignores malformed ones without ending the session.
      upstream.sendRaw(data.toString());
      void deps.sandboxes.touch(sb, Date.now()); // typing counts as activity for the idle timeout
    });
    ws.on('close', () => {
      clearInterval(ping);
      upstream.close(); // detaches; the shell keeps running for the next attach
    });
  }

  /**
   * Binary WebSocket frames ⇄ a TCP connection to 127.0.0.1:port inside the sandbox. Any protocol
   * works (databases, gRPC, SSH), and the port need not be declared for preview.
   */
  async function openTcp(req: IncomingMessage, socket: Duplex, head: Buffer, sb: Sandbox, port: number) {
    const name = sb.metadata.name;
    requireRunning(sb);
    const client = deps.sandboxdFor(sb);
    if (!client)
      throw new PlatformError(
        'UNAVAILABLE',
        `sandbox ${name} runs without sandboxd; ports cannot be reached`,
      );
    const tunnel = await client.tcpTunnel(port, { timeoutMs: 5000 }).catch((err: unknown) => {
      throw new PlatformError(
        'UPSTREAM_UNREACHABLE',
        `port forward upstream unreachable: ${(fromSandboxdError(err) as Error).message}`,
      );
    });
    track(tunnel);
    if (closing || socket.destroyed) return void tunnel.destroy();
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      void deps.sandboxes.touch(sb, Date.now());
      tunnel.on('data', (chunk: Buffer) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(chunk, { binary: true });
        holdWhileBuffered(ws, tunnel);
      });
      ws.on('message', (data, isBinary) => {
        // The other way round too: a sandbox that does not read stops the client, not the router.
        if (isBinary && !tunnel.write(data as Buffer)) {
          ws.pause();
          tunnel.once('drain', () => ws.resume());
        }
      });
      tunnel.on('end', () => ws.close(1000, 'upstream closed'));
      tunnel.on('error', () => ws.close(1011, 'upstream error'));
      ws.on('close', () => tunnel.destroy());
    });
  }

  app.addHook('onClose', async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
}
