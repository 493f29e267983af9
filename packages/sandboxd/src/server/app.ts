import { createHash, timingSafeEqual } from 'node:crypto';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type * as WsModule from 'ws';
import { formatSSE, formatSSEComment } from '@agenttier/contract/sse';

import { SandboxdError } from '../errors.ts';
import {
  ARCHIVE_BYTES_HEADER,
  ARCHIVE_DEFAULT_MAX_BYTES,
  ARCHIVE_DEFAULT_MAX_ENTRIES,
  ARCHIVE_ENTRIES_HEADER,
  OUTPUT_FRAME_HEADER_BYTES,
  SANDBOXD_API_VERSION,
  STREAM_STDERR,
  STREAM_STDOUT,
  TCP_UPGRADE_PROTOCOL,
  TERMINAL_CREATED_HEADER,
  TERMINAL_SESSION_HEADER,
} from '../protocol.ts';
import type {
  AttachServerMessage,
  DaemonInfo,
  ExecRequest,
  HealthInfo,
  OnStartStatus,
  OutputChunk,
  StartProcessRequest,
  TerminalCloseReason,
  WatchEvent,
} from '../protocol.ts';
import { archiveStream, planArchive } from './archive.ts';
import { FileService } from './files.ts';
import {
  queryBool,
  queryInt,
  readJson,
  rejectUpgrade,
  sendError,
  sendJson,
  toSandboxdError,
} from './http-util.ts';
import type { Logger } from './log.ts';
import { PathPolicy } from './paths.ts';
import { killAdopted } from './reaper.ts';
import { ProcessManager, normalizeSignal } from './processes.ts';
import type { ManagedProcess } from './processes.ts';
import { listListeningPorts } from './procfs.ts';
import { splice } from '@agenttier/contract/tunnel';
import { connectLoopback } from './tcp.ts';
import { TerminalManager } from './terminals.ts';
import { UsageSampler } from './usage.ts';

export interface SandboxdOptions {
  /** Bearer token clients must present; `null` disables auth (development only). */
  token: string | null;
  roots: string[];
  defaultCwd: string;
  /** Environment every child starts from (sandboxd's own settings already removed). */
  baseEnv: Record<string, string>;
  /** Start hook: a shell command run once at startup. */
  onStart?: string | undefined;
  /** Terminal shell when the viewer names none (the template's shell). @default /bin/bash, else /bin/sh */
  defaultShell?: string | undefined;
  maxProcesses: number;
  maxOutputBytes: number;
  processBufferBytes: number;
  finishedTtlMs: number;
  maxFinished: number;
  defaultExecTimeoutMs: number;
  terminalBufferBytes: number;
  maxTerminals: number;
  heartbeatMs: number;
  pongTimeoutMs: number;
  /** Grace between SIGTERM and SIGKILL for children at shutdown. */
  shutdownGraceMs: number;
  /** agenttier-reaper to run every process and terminal under (reaper.ts); absent: no subreapers. */
  reaper?: string | undefined;
  /**
   * The process that adopts what a killed reaper held (the container's init, sandboxd's parent): its
   * children other than sandboxd are killed whenever a reaper exits. Absent: never (reaper.ts).
   */
  adoptingParent?: number | undefined;
  /** Where the container's cgroup files are (usage). @default /sys/fs/cgroup */
  cgroupRoot?: string | undefined;
  /**
   * Standby reapers for execs and for terminals (standby.ts): what still starts while the sandbox's
   * processes fill its pids limit. Each holds two of its pids (a terminal's also a thread of
   * node-pty's). @default 1 each. `warm`: reapers that ordinary execs and processes start on, apart
   * from that reserve (processes.ts warmCount). @default 1
   */
  standby?: { processes: number; terminals: number; warm?: number } | undefined;
  version: string;
  log: Logger;
}

export type ListenTarget =
  | { socketPath: string; mode?: number }
  | { host: string; port: number }
  /** A listening socket inherited from agenttier-launch (bound as root in a root-owned directory). */
  | { fd: number };

const JSON_BODY_LIMIT = 64 << 20;
const ATTACH_HIGH_WATER = 4 << 20;
const ATTACH_LOW_WATER = 1 << 20;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function encodeOutput(c: OutputChunk): Buffer {
  const frame = Buffer.allocUnsafe(OUTPUT_FRAME_HEADER_BYTES + c.data.length);
  frame[0] = c.stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR;
  frame.writeBigUInt64BE(BigInt(c.offset), 1);
  c.data.copy(frame, OUTPUT_FRAME_HEADER_BYTES);
  return frame;
}

function sendMsg(ws: WebSocket, msg: AttachServerMessage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
}

function rawToBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}

/** The daemon: routes, auth and the managers behind them. Listening is separate (see {@link listen}). */
export class Sandboxd {
  readonly processes: ProcessManager;
  readonly terminals: TerminalManager;
  readonly files: FileService;
  readonly policy: PathPolicy;
  readonly usage: UsageSampler;
  private readonly servers: { server: Server; socketPath?: string }[] = [];
  private readonly tokenDigest: Buffer | null;
  private readonly startedAt = new Date();
  private readonly log: Logger;
  private closing = false;
  private readonly openSockets = new Set<Duplex>();
  /** WebSockets, loaded at the first upgrade ({@link webSockets}). */
  private ws: { module: typeof WsModule; server: WebSocketServer } | undefined;

  constructor(private readonly opts: SandboxdOptions) {
    this.log = opts.log;
    this.tokenDigest = opts.token === null ? null : digest(opts.token);
    this.policy = new PathPolicy(opts.roots);
    this.files = new FileService(this.policy);
    this.usage = new UsageSampler(opts.cgroupRoot ? { cgroupRoot: opts.cgroupRoot } : {});
    this.processes = new ProcessManager({
      maxProcesses: opts.maxProcesses,
      maxOutputBytes: opts.maxOutputBytes,
      bufferBytes: opts.processBufferBytes,
      finishedTtlMs: opts.finishedTtlMs,
      maxFinished: opts.maxFinished,
      defaultCwd: opts.defaultCwd,
      baseEnv: opts.baseEnv,
      defaultExecTimeoutMs: opts.defaultExecTimeoutMs,
      attachTimeoutMs: 30_000,
      stdioGraceMs: 250,
      ...(opts.reaper ? { reaper: opts.reaper } : {}),
      onReaperExit: () => this.killEscapees(),
      standbyCount: opts.standby?.processes ?? 1,
      warmCount: opts.standby?.warm ?? 1,
      beforeStart: () => this.terminals.fillStandby(),
      log: opts.log,
    });
    this.terminals = new TerminalManager({
      maxSessions: opts.maxTerminals,
      bufferBytes: opts.terminalBufferBytes,
      heartbeatMs: opts.heartbeatMs,
      pongTimeoutMs: opts.pongTimeoutMs,
      defaultCwd: opts.defaultCwd,
      defaultShell: opts.defaultShell,
      baseEnv: opts.baseEnv,
      ...(opts.reaper ? { reaper: opts.reaper } : {}),
      onReaperExit: () => this.killEscapees(),
      standbyCount: opts.standby?.terminals ?? 1,
      beforeStart: () => this.processes.fillStandby(),
      log: opts.log,
    });
  }

  /**
   * A reaper ended. If it was killed while its command or leftovers ran, they were reparented to the
   * adopting parent (the container's init): kill them, with retries while a scan still finds some.
   */
  private killEscapees(attempt = 0): void {
    const parent = this.opts.adoptingParent;
    if (parent === undefined) return;
    const left = killAdopted(parent);
    if (left > 0 && attempt < 50) setTimeout(() => this.killEscapees(attempt + 1), 20).unref();
    else if (left > 0) this.log.warn('processes that escaped their reaper survive', { left });
  }

  /** Runs the start hook (if configured). Failures are logged, never fatal. */
  async runStartHook(): Promise<void> {
    if (!this.opts.onStart) return;
    try {
      const p = await this.processes.start({ command: this.opts.onStart, openStdin: false }, 'onstart');
      this.log.info('start hook running', { pid: p.pid });
      p.once('exit', (st) =>
        this.log.info('start hook finished', { exitCode: st.exitCode, signal: st.signal }),
      );
    } catch (err) {
      this.log.warn('start hook could not start', { err });
    }
  }

  /** Starts serving on a unix socket (created with `mode`, default 0660) or a TCP address. */
  async listen(target: ListenTarget): Promise<Server> {
    const server = createServer({ keepAliveTimeout: 120_000, headersTimeout: 15_000, requestTimeout: 0 });
    server.on('request', (req, res) => void this.handleRequest(req, res));
    server.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
    server.on('connection', (s: Duplex) => {
      this.openSockets.add(s);
      s.once('close', () => this.openSockets.delete(s));
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
    });
    if ('fd' in target) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd: target.fd }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.servers.push({ server });
    } else if ('socketPath' in target) {
      const st = await lstat(target.socketPath).catch(() => undefined);
      if (st?.isSocket()) await unlink(target.socketPath); // stale from a previous run
      const old = process.umask(0o117);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(target.socketPath, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } finally {
        process.umask(old);
      }
      await chmod(target.socketPath, target.mode ?? 0o660).catch((err: NodeJS.ErrnoException) => {
        // gVisor (runsc --host-uds=create) refuses chmod on a socket its gofer created on the host;
        // the umask above already gave it mode 0660.
        if (err.code !== 'EPERM') throw err;
        this.log.warn('cannot chmod the socket; it keeps the mode it was created with (0660)', {
          socketPath: target.socketPath,
          err: err.code,
        });
      });
      this.servers.push({ server, socketPath: target.socketPath });
    } else {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(target.port, target.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.servers.push({ server });
    }
    return server;
  }

  /**
   * The `ws` package and its server, loaded at the first WebSocket upgrade rather than at start: ws
   * loads Node's https, tls and zlib (~15 ms of CPU), which a sandboxd that only ever serves health
   * checks, execs and files (most of them) never needs, and 20 sandboxes starting at once paid on
   * shared cores.
   */
  private async webSockets(): Promise<{ module: typeof WsModule; server: WebSocketServer }> {
    if (!this.ws) {
      const module = await import('ws');
      this.ws ??= {
        module,
        server: new module.WebSocketServer({
          noServer: true,
          maxPayload: 16 << 20,
          perMessageDeflate: false,
        }),
      };
    }
    return this.ws;
  }

  /** Stops serving, ends terminals, kills every child process group, removes the socket. */
  async close(reason: TerminalCloseReason = 'sandbox_stopped'): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.terminals.shutdown(reason);
    for (const ws of this.ws?.server.clients ?? []) ws.close(1001, 'sandboxd shutting down');
    await this.processes.shutdown(this.opts.shutdownGraceMs);
    for (const { server, socketPath } of this.servers) {
      server.close();
      if (socketPath) await unlink(socketPath).catch(() => {});
    }
    for (const s of this.openSockets) s.destroy();
  }

  health(): HealthInfo {
    return {
      status: 'ok',
      apiVersion: SANDBOXD_API_VERSION,
      version: this.opts.version,
      pid: process.pid,
      uptimeMs: Math.round(process.uptime() * 1000),
    };
  }

  info(): DaemonInfo {
    return {
      ...this.health(),
      node: process.version,
      uid: process.getuid?.() ?? -1,
      gid: process.getgid?.() ?? -1,
      hostname: hostname(),
      startedAt: this.startedAt.toISOString(),
      allowedRoots: [...this.policy.roots],
      defaultCwd: this.opts.defaultCwd,
      ptyAvailable: this.terminals.available,
      limits: {
        maxProcesses: this.opts.maxProcesses,
        maxOutputBytes: this.opts.maxOutputBytes,
        processBufferBytes: this.opts.processBufferBytes,
        terminalBufferBytes: this.opts.terminalBufferBytes,
        maxTerminals: this.opts.maxTerminals,
      },
      counts: {
        runningProcesses: this.processes.runningCount,
        processes: this.processes.size,
        terminals: this.terminals.size,
      },
    };
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.tokenDigest === null) return true;
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !/^Bearer /i.test(h)) return false;
    return timingSafeEqual(digest(h.slice(7).trim()), this.tokenDigest);
  }

  private async handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://sandboxd');
      const path = url.pathname;
      if (path === '/healthz') return sendJson(res, 200, this.health());
      if (!this.authorized(req)) {
        req.resume();
        throw new SandboxdError('unauthorized', 'missing or invalid bearer token');
      }
      if (this.closing) throw new SandboxdError('shutting_down', 'sandboxd is shutting down');
      await this.route(req, res, req.method ?? 'GET', path, url.searchParams);
    } catch (err) {
      const e = toSandboxdError(err);
      if (e.code === 'internal')
        this.log.error('request failed', {
          method: req.method,
          path: req.url?.split('?')[0],
          err: e.cause ?? e,
        });
      sendError(res, e);
    }
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    q: URLSearchParams,
  ): Promise<void> {
    const allow = (...methods: string[]): void => {
      if (!methods.includes(method)) {
        req.resume();
        throw new SandboxdError('method_not_allowed', `${method} not allowed on ${path}`);
      }
    };
    let m: RegExpExecArray | null;
    switch (path) {
      case '/v1/info':
        allow('GET');
        return sendJson(res, 200, this.info());
      case '/v1/exec': {
        allow('POST');
        const body = (await readJson(req, JSON_BODY_LIMIT)) as unknown as ExecRequest;
        const abort = new AbortController();
        res.once('close', () => {
          if (!res.writableFinished) abort.abort();
        });
        const result = await this.processes.exec(body, abort.signal);
        return sendJson(res, 200, result);
      }
      case '/v1/processes':
        allow('GET', 'POST');
        if (method === 'GET') return sendJson(res, 200, { processes: this.processes.list() });
        {
          const body = (await readJson(req, JSON_BODY_LIMIT)) as unknown as StartProcessRequest;
          const p = await this.processes.start(body);
          return sendJson(res, 201, p.info());
        }
      case '/v1/onstart': {
        allow('GET');
        let p: ManagedProcess | undefined;
        try {
          p = this.processes.get('onstart');
        } catch {
          p = undefined;
        }
        const status: OnStartStatus = {
          configured: Boolean(this.opts.onStart),
          command: this.opts.onStart ?? null,
          process: p?.info() ?? null,
          log: p ? p.ring.contents().toString('utf8') : '',
        };
        return sendJson(res, 200, status);
      }
      case '/v1/files/stat':
        allow('GET');
        return sendJson(res, 200, await this.files.stat(q.get('path')));
      case '/v1/files/list':
        allow('GET');
        return sendJson(res, 200, await this.files.list(q.get('path')));
      case '/v1/files/read': {
        allow('GET', 'HEAD');
        const h = await this.files.read(q.get('path'), {
          maxBytes: queryInt(q, 'maxBytes'),
          offset: queryInt(q, 'offset'),
          length: queryInt(q, 'length'),
        });
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': h.size });
        if (method === 'HEAD') {
          h.stream.destroy();
          return void res.end();
        }
        h.stream.on('error', () => res.destroy());
        res.once('close', () => h.stream.destroy());
        h.stream.pipe(res);
        return;
      }
      case '/v1/files/write': {
        allow('PUT', 'POST');
        const result = await this.files.write(q.get('path'), req, {
          mode: q.get('mode') ?? undefined,
          mkdirs: queryBool(q, 'mkdirs'),
          overwrite: queryBool(q, 'overwrite'),
          maxBytes: queryInt(q, 'maxBytes'),
        });
        return sendJson(res, 201, result);
      }
      case '/v1/files/mkdir': {
        allow('POST');
        const b = await readJson(req, 1 << 20);
        const parents = b.parents === undefined ? undefined : b.parents === true;
        return sendJson(res, 201, await this.files.mkdir(b.path, { parents, mode: b.mode }));
      }
      case '/v1/files/remove': {
        allow('POST', 'DELETE');
        const b =
          method === 'DELETE'
            ? { path: q.get('path'), recursive: queryBool(q, 'recursive') }
            : await readJson(req, 1 << 20);
        await this.files.remove(b.path, { recursive: b.recursive === true });
        res.writeHead(204).end();
        return;
      }
      case '/v1/files/rename': {
        allow('POST');
        const b = await readJson(req, 1 << 20);
        return sendJson(res, 200, await this.files.rename(b.from, b.to, { overwrite: b.overwrite === true }));
      }
      case '/v1/files/archive': {
        allow('GET');
        const plan = await planArchive(this.policy, q.get('path'), {
          maxBytes: queryInt(q, 'maxBytes') ?? ARCHIVE_DEFAULT_MAX_BYTES,
          maxEntries: queryInt(q, 'maxEntries') ?? ARCHIVE_DEFAULT_MAX_ENTRIES,
        });
        res.writeHead(200, {
          'content-type': 'application/x-tar',
          [ARCHIVE_BYTES_HEADER]: String(plan.bytes),
          [ARCHIVE_ENTRIES_HEADER]: String(plan.entries.length),
        });
        const tar = archiveStream(plan);
        tar.on('error', () => res.destroy());
        res.once('close', () => tar.destroy());
        tar.pipe(res);
        return;
      }
      case '/v1/files/watch':
        allow('GET');
        return this.watchSse(req, res, q);
      case '/v1/terminals':
        allow('GET');
        return sendJson(res, 200, { terminals: this.terminals.list() });
      case '/v1/usage': {
        allow('GET');
        // Only an allowed root (the workspace mount or /tmp) is statfs'd, never another path: storage
        // is then null with the reason, and the cgroup figures are still answered.
        const path = q.get('path') ?? this.opts.defaultCwd;
        const allowed = this.policy.roots.includes(path);
        return sendJson(
          res,
          200,
          await this.usage.measure(allowed ? path : undefined, allowed ? undefined : 'not an allowed root'),
        );
      }
      case '/v1/ports':
        allow('GET');
        return sendJson(res, 200, { ports: await listListeningPorts() });
      case '/v1/pty':
      case '/pty':
        req.resume();
        throw new SandboxdError('invalid_argument', 'this endpoint needs a WebSocket upgrade', {
          status: 426,
        });
    }
    if ((m = /^\/v1\/processes\/([^/]+)$/.exec(path))) {
      const id = decodeURIComponent(m[1] ?? '');
      allow('GET', 'DELETE');
      if (method === 'GET') return sendJson(res, 200, this.processes.get(id).info());
      this.processes.remove(id);
      res.writeHead(204).end();
      return;
    }
    if ((m = /^\/v1\/processes\/([^/]+)\/(signal|kill|stdin|attach)$/.exec(path))) {
      const id = decodeURIComponent(m[1] ?? '');
      const action = m[2];
      if (action === 'attach') {
        req.resume();
        throw new SandboxdError('invalid_argument', 'attach needs a WebSocket upgrade', { status: 426 });
      }
      allow('POST');
      const p = this.processes.get(id);
      if (action === 'stdin') {
        for await (const chunk of req as AsyncIterable<Buffer>) p.writeStdin(chunk);
        if (queryBool(q, 'close')) p.closeStdin();
        return sendJson(res, 200, p.info());
      }
      const b = await readJson(req, 1 << 20);
      if (action === 'signal') p.signal(normalizeSignal(b.signal ?? 'SIGTERM'));
      else {
        const grace = typeof b.graceMs === 'number' && b.graceMs >= 0 ? b.graceMs : 0;
        p.terminate(grace);
      }
      return sendJson(res, 200, p.info());
    }
    if ((m = /^\/v1\/terminals\/([^/]+)$/.exec(path))) {
      allow('DELETE', 'GET');
      const id = decodeURIComponent(m[1] ?? '');
      if (method === 'GET') {
        const s = this.terminals.get(id);
        if (!s) throw new SandboxdError('not_found', `terminal session ${id} not found`);
        return sendJson(res, 200, s.info());
      }
      this.terminals.kill(id);
      res.writeHead(204).end();
      return;
    }
    if (/^\/v1\/tcp\/[^/]+$/.test(path)) {
      req.resume();
      throw new SandboxdError(
        'invalid_argument',
        `the TCP tunnel needs Upgrade: ${TCP_UPGRADE_PROTOCOL} or websocket`,
        {
          status: 426,
        },
      );
    }
    req.resume();
    throw new SandboxdError('not_found', `no route for ${method} ${path}`);
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    try {
      const url = new URL(req.url ?? '/', 'http://sandboxd');
      const path = url.pathname;
      const q = url.searchParams;
      if (!this.authorized(req)) throw new SandboxdError('unauthorized', 'missing or invalid bearer token');
      if (this.closing) throw new SandboxdError('shutting_down', 'sandboxd is shutting down');
      const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
      const isWs = upgrade === 'websocket';
      const sockets = isWs ? await this.webSockets() : undefined;
      let m: RegExpExecArray | null;
      if ((m = /^\/v1\/tcp\/([^/]+)$/.exec(path))) {
        const port = Number(m[1]);
        if (!isWs && upgrade !== TCP_UPGRADE_PROTOCOL) {
          throw new SandboxdError('invalid_argument', `Upgrade must be ${TCP_UPGRADE_PROTOCOL} or websocket`);
        }
        const upstream = await connectLoopback(port);
        if (isWs) {
          return sockets!.server.handleUpgrade(req, socket, head, (sock) => {
            splice(sockets!.module.createWebSocketStream(sock), upstream);
          });
        }
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${TCP_UPGRADE_PROTOCOL}\r\n\r\n`,
        );
        if (head.length > 0) upstream.write(head);
        (socket as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
        splice(socket, upstream);
        return;
      }
      if (!sockets) throw new SandboxdError('invalid_argument', 'expected a WebSocket upgrade');
      const wss = sockets.server;
      if (path === '/v1/pty' || path === '/pty') return this.upgradeTerminal(wss, req, socket, head, q);
      if ((m = /^\/v1\/processes\/([^/]+)\/attach$/.exec(path))) {
        const p = this.processes.get(decodeURIComponent(m[1] ?? ''));
        const fromOffset = queryInt(q, 'fromOffset') ?? 0;
        const killOnDetach = queryBool(q, 'killOnDetach') ?? false;
        return wss.handleUpgrade(req, socket, head, (sock) =>
          this.attachProcess(sock, p, fromOffset, killOnDetach),
        );
      }
      if (path === '/v1/files/watch') {
        const recursive = queryBool(q, 'recursive');
        let watching: WebSocket | undefined;
        const queue: WatchEvent[] = [];
        const watcher = await this.files.watch(
          q.get('path'),
          { recursive },
          (e) => (watching ? watching.send(JSON.stringify(e)) : queue.push(e)),
          (err) => watching?.close(1011, err.message.slice(0, 120)),
        );
        return wss.handleUpgrade(req, socket, head, (sock) => {
          watching = sock;
          for (const e of queue.splice(0)) sock.send(JSON.stringify(e));
          sock.on('close', () => watcher.close());
          sock.on('error', () => sock.terminate());
        });
      }
      throw new SandboxdError('not_found', `no WebSocket route for ${path}`);
    } catch (err) {
      const e = toSandboxdError(err);
      if (e.code === 'internal')
        this.log.error('upgrade failed', { path: req.url?.split('?')[0], err: e.cause ?? e });
      rejectUpgrade(socket, e);
    }
  }

  private upgradeTerminal(
    wss: WebSocketServer,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    q: URLSearchParams,
  ): void {
    const num = (name: string): number | undefined => {
      const v = q.get(name);
      return v === null || v === '' ? undefined : Number(v);
    };
    const { session, created } = this.terminals.open({
      session: q.get('session') || undefined,
      shell: q.get('shell') || undefined,
      cwd: q.get('cwd') || undefined,
      cols: num('cols'),
      rows: num('rows'),
      create: q.get('create') !== 'false',
    });
    const addHeaders = (headers: string[]): void => {
      headers.push(`${TERMINAL_SESSION_HEADER}: ${session.id}`, `${TERMINAL_CREATED_HEADER}: ${created}`);
    };
    wss.once('headers', addHeaders);
    try {
      wss.handleUpgrade(req, socket, head, (ws) => session.attach(ws));
    } finally {
      wss.off('headers', addHeaders);
    }
  }

  private attachProcess(ws: WebSocket, p: ManagedProcess, fromOffset: number, killOnDetach: boolean): void {
    p.attachments++;
    p.everAttached = true;
    const slice = p.ring.since(fromOffset);
    sendMsg(ws, {
      type: 'attached',
      process: p.info(),
      fromOffset: slice.fromOffset,
      droppedBytes: slice.droppedBytes,
    });
    for (const c of slice.chunks) ws.send(encodeOutput({ stream: c.tag, offset: c.offset, data: c.data }));
    let paused = false;
    let flowTimer: NodeJS.Timeout | undefined;
    const checkFlow = (): void => {
      const queued = ws.bufferedAmount;
      if (!paused && queued > ATTACH_HIGH_WATER) {
        paused = true;
        p.pauseOutput(ws);
        flowTimer = setInterval(checkFlow, 25);
      } else if (paused && queued < ATTACH_LOW_WATER) {
        paused = false;
        clearInterval(flowTimer);
        p.resumeOutput(ws);
      }
    };
    const onOutput = (c: OutputChunk): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(encodeOutput(c));
      checkFlow();
    };
    const onExit = (): void => {
      const st = p.exited;
      if (st) sendMsg(ws, { type: 'exit', ...st });
      ws.close(1000, 'process exited');
    };
    ws.on('message', (raw, isBinary) => {
      try {
        if (isBinary) return p.writeStdin(rawToBuffer(raw));
        let msg: unknown;
        try {
          msg = JSON.parse(rawToBuffer(raw).toString('utf8'));
        } catch {
          return;
        }
        const mm = msg as Record<string, unknown> | null;
        if (!mm || typeof mm !== 'object') return;
        if (mm.type === 'stdin' && typeof mm.data === 'string') {
          p.writeStdin(Buffer.from(mm.data, mm.encoding === 'base64' ? 'base64' : 'utf8'));
        } else if (mm.type === 'closeStdin') p.closeStdin();
        else if (mm.type === 'signal') p.signal(normalizeSignal(mm.signal));
      } catch (err) {
        const e = toSandboxdError(err);
        sendMsg(ws, { type: 'error', code: e.code, message: e.message });
      }
    });
    ws.on('error', () => ws.terminate());
    ws.once('close', () => {
      p.off('output', onOutput);
      p.off('exit', onExit);
      clearInterval(flowTimer);
      if (paused) p.resumeOutput(ws);
      p.attachments--;
      if (p.running && (killOnDetach || (p.killOnDetach && p.attachments === 0))) {
        this.log.debug('killing process on detach', { id: p.id });
        p.terminate();
      }
    });
    if (!p.running) return onExit();
    p.on('output', onOutput);
    p.once('exit', onExit);
  }

  private async watchSse(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const recursive = queryBool(q, 'recursive');
    const write = (event: string, data: unknown): void => {
      if (!res.writableEnded) res.write(formatSSE(event, data));
    };
    let keepalive: NodeJS.Timeout | undefined;
    const watcher = await this.files.watch(
      q.get('path'),
      { recursive },
      (e) => write('change', e),
      (err) => {
        write('error', { code: err.code, message: err.message });
        res.end();
      },
    );
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    write('ready', { path: q.get('path') });
    keepalive = setInterval(() => res.write(formatSSEComment('keepalive')), 15_000);
    const stop = (): void => {
      clearInterval(keepalive);
      keepalive = undefined;
      watcher.close();
    };
    res.once('close', stop);
    req.once('close', stop);
  }
}

export function createSandboxd(opts: SandboxdOptions): Sandboxd {
  return new Sandboxd(opts);
}
