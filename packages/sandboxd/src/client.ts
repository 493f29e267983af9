import { EventEmitter } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { SSEParser } from '@agenttier/contract/sse';

import {
  ERROR_BODY_MAX_BYTES,
  JSON_ANSWER_MAX_BYTES,
  READ_BUFFER_MAX_BYTES,
  WS_FRAME_MAX_BYTES,
  archiveMaxTarBytes,
  capExecResult,
  capStream,
  execAnswerMaxBytes,
  readCapped,
} from './client-body.ts';
import { ROUTER_ANSWER_BUDGET } from './answer-budget.ts';
import { SandboxdError, daemonError, daemonMessage, isSandboxdErrorCode } from './errors.ts';
import {
  ARCHIVE_BYTES_HEADER,
  ARCHIVE_ENTRIES_HEADER,
  OUTPUT_FRAME_HEADER_BYTES,
  STREAM_STDOUT,
  TCP_UPGRADE_PROTOCOL,
  TERMINAL_CREATED_HEADER,
  TERMINAL_SESSION_HEADER,
} from './protocol.ts';
import type {
  AttachServerMessage,
  DaemonInfo,
  ExecRequest,
  ExecResult,
  FileInfo,
  HealthInfo,
  ListDirResult,
  ListeningPort,
  OnStartStatus,
  ProcessInfo,
  StartProcessRequest,
  TerminalClientFrame,
  TerminalInfo,
  TerminalServerFrame,
  WatchEvent,
  WriteFileResult,
} from './protocol.ts';

/**
 * Where sandboxd listens: a unix socket path, a TCP address (Kubernetes pod IP), or a function that opens
 * a connected stream. The local platform uses `connect`: the socket lives in a directory the sandbox can
 * write, so the router opens it without following links and checks what it opened before connecting
 * (a `socketPath` would be resolved by the kernel, symlinks and all).
 */
export type SandboxdTarget =
  { socketPath: string } | { host: string; port: number } | { connect: () => Promise<Duplex> };

export interface CallOpts {
  /** Cancels the call (the daemon kills a unary exec whose caller went away). */
  signal?: AbortSignal;
  /** Gives up after this long (client side). @default no limit */
  timeoutMs?: number;
}

export type BodyInput = Buffer | Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface AttachOpts extends CallOpts {
  /** Replay buffered output from this offset (0 = everything still buffered). @default 0 */
  fromOffset?: number;
  /** Kill the process when this attachment closes. @default false */
  killOnDetach?: boolean;
}

export type AttachEvent =
  | { type: 'output'; stream: 'stdout' | 'stderr'; offset: number; data: Buffer }
  | Extract<AttachServerMessage, { type: 'exit' }>
  | Extract<AttachServerMessage, { type: 'error' }>;

export type ExitEvent = Extract<AttachServerMessage, { type: 'exit' }>;

export interface TerminalOpts extends CallOpts {
  /** Session id: attaching to an existing one re-attaches (and replays); omitted = a throwaway session. */
  session?: string;
  /** Absolute path. @default /bin/bash, falling back to /bin/sh */
  shell?: string;
  cwd?: string;
  /** @default 120 */
  cols?: number;
  /** @default 40 */
  rows?: number;
  /** False: only attach to an existing session (fails with not_found instead of starting a shell). @default true */
  create?: boolean;
}

export interface ReadFileOpts extends CallOpts {
  /** Fail with `too_large` instead of streaming more than this. */
  maxBytes?: number;
  offset?: number;
  length?: number;
}

export interface WriteFileOpts extends CallOpts {
  /** Octal string (`"755"`) or number. @default the replaced file's mode, else 0666 & ~umask */
  mode?: number | string;
  /** Create missing parent directories. @default true */
  mkdirs?: boolean;
  /** Replace an existing file. @default true */
  overwrite?: boolean;
  maxBytes?: number;
}

/** A queue that is also an async iterator; `end()` finishes it, `fail()` makes the next read throw. */
class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiters: ((r: IteratorResult<T>) => void)[] = [];
  private failures: ((e: unknown) => void)[] = [];
  private done = false;
  private error: unknown;
  private bytes = 0;
  private high = false;

  /**
   * `onHigh` fires (the producer should pause) when `highWater` items or `highWaterBytes` bytes (by
   * `sizeOf`) are queued, `onLow` once the queue has drained to a quarter of both.
   */
  constructor(
    private readonly onHigh?: () => void,
    private readonly onLow?: () => void,
    private readonly highWater = 256,
    private readonly sizeOf: (item: T) => number = () => 0,
    private readonly highWaterBytes = 4 * 1024 * 1024,
  ) {}

  push(item: T): void {
    if (this.done) return;
    const w = this.waiters.shift();
    this.failures.shift();
    if (w) return w({ value: item, done: false });
    this.items.push(item);
    this.bytes += this.sizeOf(item);
    if (!this.high && (this.items.length >= this.highWater || this.bytes >= this.highWaterBytes)) {
      this.high = true;
      this.onHigh?.();
    }
  }

  private taken(item: T): void {
    this.bytes -= this.sizeOf(item);
    if (this.high && this.items.length <= this.highWater >> 2 && this.bytes <= this.highWaterBytes >> 2) {
      this.high = false;
      this.onLow?.();
    }
  }

  end(err?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    const ws = this.waiters.splice(0);
    const fs = this.failures.splice(0);
    ws.forEach((w, i) => (err === undefined ? w({ value: undefined, done: true }) : fs[i]?.(err)));
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      this.taken(item);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.done) {
      if (this.error !== undefined) {
        const e = this.error;
        this.error = undefined;
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.failures.push(reject);
    });
  }

  /** Removes and returns the queued items (for handing them to listeners instead). */
  drain(): T[] {
    const items = this.items.splice(0);
    this.bytes = 0;
    if (this.high) {
      this.high = false;
      this.onLow?.();
    }
    return items;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next(), return: async () => ({ value: undefined, done: true }) };
  }
}

/**
 * Hands items to whichever consumer the caller uses: async iteration, listeners, or both. Until one
 * exists, items are held (the socket is paused when many pile up), so a listener added after `await`
 * still sees output that arrived with the handshake.
 */
class Delivery<T> {
  private iterating = false;
  private listening = false;
  readonly channel: Channel<T>;

  constructor(
    private readonly emitItem: (item: T) => void,
    pause: () => void,
    resume: () => void,
    sizeOf: (item: T) => number,
  ) {
    this.channel = new Channel<T>(pause, resume, 256, sizeOf);
  }

  push(item: T): void {
    if (this.listening) this.emitItem(item);
    if (this.iterating || !this.listening) this.channel.push(item);
  }

  end(): void {
    this.channel.end();
  }

  iterate(): AsyncIterator<T> {
    this.iterating = true;
    return this.channel[Symbol.asyncIterator]();
  }

  /** Called when the first listener is added: replay what was held to it. */
  listen(): void {
    if (this.listening) return;
    this.listening = true;
    queueMicrotask(() => {
      if (this.iterating) return; // the iterator owns the held items; listeners get new ones
      for (const item of this.channel.drain()) this.emitItem(item);
    });
  }
}

function rawToBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}

/** An error answer: only its first bytes are read (the rest is dropped with the connection). */
async function readErrorBody(res: IncomingMessage): Promise<Buffer> {
  return readCapped(res, ERROR_BODY_MAX_BYTES, 'a failed call').catch((err: unknown) => {
    if (err instanceof SandboxdError && err.code === 'too_large')
      return Buffer.from('(oversized error body)');
    throw err;
  });
}

function errorFromBody(status: number, body: Buffer): SandboxdError {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      error?: { code?: unknown; message?: unknown; details?: unknown };
    };
    const e = parsed.error;
    if (e && isSandboxdErrorCode(e.code)) {
      return new SandboxdError(e.code, daemonMessage(e.message, e.code), {
        status,
        details:
          typeof e.details === 'object' && e.details !== null
            ? (e.details as Record<string, unknown>)
            : undefined,
      });
    }
  } catch {
    // not JSON
  }
  return new SandboxdError(
    'internal',
    `sandboxd answered ${status}: ${daemonMessage(body.toString('utf8').slice(0, 200), '')}`,
    { status },
  );
}

function connectError(err: unknown): SandboxdError {
  if (err instanceof SandboxdError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new SandboxdError('unreachable', `cannot reach sandboxd: ${code}`, {
    cause: err,
    details: { errno: code },
  });
}

/** sandboxd did not answer in time: `unreachable` with errno ETIMEDOUT (the router falls back on it). */
function timeoutError(what: string, ms: number): SandboxdError {
  const cause = Object.assign(new Error(`${what} within ${ms} ms`), { code: 'ETIMEDOUT' });
  return new SandboxdError('unreachable', `cannot reach sandboxd: ${what} within ${ms} ms (ETIMEDOUT)`, {
    cause,
    details: { errno: 'ETIMEDOUT' },
  });
}

export interface SandboxdClientOpts {
  /**
   * How long to wait for a connection to sandboxd, for the answer to a WebSocket or tunnel upgrade,
   * and, while a call waits for its response, for a liveness probe (`/healthz` on a fresh connection,
   * sent every this many ms). A call that runs long (an exec) is fine while the probe answers; a daemon
   * that accepts connections but answers nothing (a dead sandboxd whose socket gVisor keeps bound)
   * fails the call with `unreachable` (errno ETIMEDOUT) instead of hanging. @default 5000
   */
  connectTimeoutMs?: number;
}

function combineSignal(o: CallOpts | undefined): AbortSignal | undefined {
  const signals: AbortSignal[] = [];
  if (o?.signal) signals.push(o.signal);
  if (o?.timeoutMs !== undefined) signals.push(AbortSignal.timeout(o.timeoutMs));
  if (signals.length === 0) return undefined;
  return signals.length === 1 ? signals[0] : AbortSignal.any(signals);
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Live output of a process (WebSocket attach). Iterate it for events, or use `exit`. */
export class ProcessAttachment
  extends EventEmitter<{
    output: [Extract<AttachEvent, { type: 'output' }>];
    exit: [ExitEvent];
    error: [SandboxdError];
    close: [];
  }>
  implements AsyncIterable<AttachEvent>
{
  /** Process state when the attachment started. */
  process!: ProcessInfo;
  /** Offset replay started at (≥ the one requested if the buffer had already dropped older bytes). */
  fromOffset = 0;
  droppedBytes = 0;
  /** Resolves with the exit event, or null when the attachment closed before the process exited. */
  readonly exit: Promise<ExitEvent | null>;
  private resolveExit!: (e: ExitEvent | null) => void;
  private readonly delivery: Delivery<AttachEvent>;
  /** Set by close(): nothing the daemon still sends is delivered. */
  private detached = false;

  /** @internal */
  constructor(private readonly ws: WebSocket) {
    super();
    this.exit = new Promise((r) => (this.resolveExit = r));
    this.delivery = new Delivery<AttachEvent>(
      (ev) => {
        if (ev.type === 'output') this.emit('output', ev);
        else if (ev.type === 'exit') this.emit('exit', ev);
        else this.emit('error', new SandboxdError(ev.code, ev.message));
      },
      () => ws.pause(),
      () => ws.resume(),
      (ev) => (ev.type === 'output' ? ev.data.length : 256),
    );
    (this as EventEmitter).on('newListener', (name: string | symbol) => {
      if (name === 'output' || name === 'exit') this.delivery.listen();
    });
    // Avoid unhandled 'error' events when nobody listens; errors also flow through the iterator.
    this.on('error', () => {});
  }

  /** @internal */
  handle(raw: RawData, isBinary: boolean): void {
    if (this.detached) return;
    const buf = rawToBuffer(raw);
    if (isBinary) {
      if (buf.length < OUTPUT_FRAME_HEADER_BYTES) return;
      this.delivery.push({
        type: 'output',
        stream: buf[0] === STREAM_STDOUT ? 'stdout' : 'stderr',
        offset: Number(buf.readBigUInt64BE(1)),
        data: buf.subarray(OUTPUT_FRAME_HEADER_BYTES),
      });
      return;
    }
    let msg: AttachServerMessage;
    try {
      msg = JSON.parse(buf.toString('utf8')) as AttachServerMessage;
    } catch {
      return;
    }
    if (msg.type === 'exit') {
      this.delivery.push(msg);
      this.resolveExit(msg);
    } else if (msg.type === 'error') {
      this.delivery.push(msg);
    }
  }

  /** @internal */
  finish(): void {
    this.delivery.end();
    this.resolveExit(null);
    this.emit('close');
  }

  writeStdin(data: Buffer | Uint8Array | string): void {
    this.ws.send(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, { binary: true });
  }

  closeStdin(): void {
    this.ws.send(JSON.stringify({ type: 'closeStdin' }));
  }

  signal(signal: string): void {
    this.ws.send(JSON.stringify({ type: 'signal', signal }));
  }

  /** Detaches (the process keeps running unless it was started or attached with killOnDetach). */
  close(): void {
    // Frames still arriving are dropped from now on: queued, they would pause the socket again. And
    // a paused socket would never read the daemon's close frame, leaving the connection open until
    // ws's close timeout (30 s), so a paused one is cut.
    this.detached = true;
    if (this.ws.isPaused) this.ws.terminate();
    else this.ws.close(1000);
  }

  [Symbol.asyncIterator](): AsyncIterator<AttachEvent> {
    return this.delivery.iterate();
  }
}

/** A viewer of a PTY session speaking the terminal frame protocol (reference §4.6). */
export class TerminalConnection
  extends EventEmitter<{
    /** Every server frame, parsed, with its raw text (to relay verbatim). */
    frame: [TerminalServerFrame, string];
    close: [{ code: number; reason: string }];
  }>
  implements AsyncIterable<TerminalServerFrame>
{
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly delivery: Delivery<[TerminalServerFrame, string]>;

  /** @internal */
  constructor(
    private readonly ws: WebSocket,
    /** Session id (generated by sandboxd when none was given). */
    readonly session: string,
    /** False when this attached to an already running session. */
    readonly created: boolean,
    early: [RawData, boolean][] = [],
  ) {
    super();
    this.delivery = new Delivery<[TerminalServerFrame, string]>(
      ([frame, text]) => this.emit('frame', frame, text),
      () => ws.pause(),
      () => ws.resume(),
      ([, text]) => text.length,
    );
    (this as EventEmitter).on('newListener', (name: string | symbol) => {
      if (name === 'frame') this.delivery.listen();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        const info = { code, reason: reason.toString('utf8') };
        this.delivery.end();
        this.emit('close', info);
        resolve(info);
      });
    });
    const onMessage = (raw: RawData, isBinary: boolean): void => {
      if (isBinary) return;
      const text = rawToBuffer(raw).toString('utf8');
      let frame: TerminalServerFrame;
      try {
        frame = JSON.parse(text) as TerminalServerFrame;
      } catch {
        return;
      }
      this.delivery.push([frame, text]);
    };
    for (const [raw, isBinary] of early) onMessage(raw, isBinary);
    ws.on('message', onMessage);
  }

  send(frame: TerminalClientFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /** Sends a frame as-is (for relaying a browser's frames without re-encoding). */
  sendRaw(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  input(data: string): void {
    this.send({ type: 'input', data });
  }

  resize(cols: number, rows: number): void {
    this.send({ type: 'resize', cols, rows });
  }

  /** Stops reading frames from sandboxd (they wait in its socket) until `resume()`: backpressure. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Disconnects this viewer; a session with an id keeps running. */
  close(): void {
    this.ws.close(1000);
  }

  [Symbol.asyncIterator](): AsyncIterator<TerminalServerFrame> {
    const inner = this.delivery.iterate();
    return {
      next: async () => {
        const r = await inner.next();
        return r.done ? { value: undefined, done: true } : { value: r.value[0], done: false };
      },
      return: async () => ({ value: undefined, done: true }),
    };
  }
}

/** Events of a directory watch; `close()` stops it. */
export interface FileWatch extends AsyncIterable<WatchEvent> {
  close(): void;
}

export interface SandboxdFiles {
  stat(path: string, o?: CallOpts): Promise<FileInfo>;
  list(path: string, o?: CallOpts): Promise<ListDirResult>;
  /** Streams a file; `size` is the number of bytes the stream will deliver. */
  read(path: string, o?: ReadFileOpts): Promise<{ size: number; stream: Readable }>;
  readBuffer(path: string, o?: ReadFileOpts): Promise<Buffer>;
  /** Writes atomically (temp file + rename), creating parents unless `mkdirs: false`. */
  write(path: string, body: BodyInput, o?: WriteFileOpts): Promise<WriteFileResult>;
  mkdir(path: string, o?: CallOpts & { parents?: boolean; mode?: number | string }): Promise<FileInfo>;
  remove(path: string, o?: CallOpts & { recursive?: boolean }): Promise<void>;
  rename(from: string, to: string, o?: CallOpts & { overwrite?: boolean }): Promise<FileInfo>;
  /** Watches a directory (recursively by default) until `close()` or the signal aborts. */
  watch(path: string, o?: CallOpts & { recursive?: boolean }): Promise<FileWatch>;
  /**
   * A tar of a directory, made inside the sandbox as the sandbox user without following links; a
   * directory over the caps fails with `too_large` before any byte. `bytes` and `entries` are what the
   * daemon announced; the stream is cut (with `too_large`) past what those allow.
   */
  archive(path: string, o: ArchiveOpts): Promise<{ bytes: number; entries: number; stream: Readable }>;
}

export interface ArchiveOpts extends CallOpts {
  /** Sum of the archived files' sizes. */
  maxBytes: number;
  /** Files, directories and links. */
  maxEntries: number;
}

export interface SandboxdClient {
  readonly target: SandboxdTarget;
  /** Unauthenticated liveness probe. */
  health(o?: CallOpts): Promise<HealthInfo>;
  info(o?: CallOpts): Promise<DaemonInfo>;
  /** Runs a command to completion. A non-zero exit is a normal result, not an error. */
  exec(req: ExecRequest, o?: CallOpts): Promise<ExecResult>;
  startProcess(req: StartProcessRequest, o?: CallOpts): Promise<ProcessInfo>;
  getProcess(id: string, o?: CallOpts): Promise<ProcessInfo>;
  listProcesses(o?: CallOpts): Promise<ProcessInfo[]>;
  /** Sends a signal (name like `SIGINT` or `INT`) to the process group. */
  signalProcess(id: string, signal: string, o?: CallOpts): Promise<ProcessInfo>;
  /** SIGKILL to the process group, or SIGTERM then SIGKILL after `graceMs`. */
  killProcess(id: string, o?: CallOpts & { graceMs?: number }): Promise<ProcessInfo>;
  /** Kills (if running) and forgets a process. */
  removeProcess(id: string, o?: CallOpts): Promise<void>;
  writeStdin(id: string, data: BodyInput, o?: CallOpts & { close?: boolean }): Promise<ProcessInfo>;
  /** Streams a process's output (replaying from `fromOffset`) and accepts stdin. */
  attach(id: string, o?: AttachOpts): Promise<ProcessAttachment>;
  /** State and log of the template's start hook. */
  onStart(o?: CallOpts): Promise<OnStartStatus>;
  readonly files: SandboxdFiles;
  terminal(o?: TerminalOpts): Promise<TerminalConnection>;
  listTerminals(o?: CallOpts): Promise<TerminalInfo[]>;
  killTerminal(session: string, o?: CallOpts): Promise<void>;
  /** A raw byte pipe to 127.0.0.1:port inside the sandbox. */
  tcpTunnel(port: number, o?: CallOpts): Promise<Duplex>;
  listPorts(o?: CallOpts): Promise<ListeningPort[]>;
  /**
   * CPU, memory, pids (the container's cgroup) and the filesystem holding `path` (an allowed root;
   * default: the daemon's default cwd). Parse the answer before trusting it: the sandbox can lie.
   */
  usage(o?: CallOpts & { path?: string }): Promise<unknown>;
  /** Releases pooled connections. */
  close(): void;
}

interface RequestSpec extends CallOpts {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  body?: BodyInput;
  auth?: boolean;
  /** Largest answer body accepted. @default JSON_ANSWER_MAX_BYTES */
  maxAnswerBytes?: number;
}

function buildPath(path: string, query?: RequestSpec['query']): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * Creates a client for one sandbox's sandboxd.
 *
 * @example
 * const sd = createSandboxdClient({ socketPath: '/var/lib/agenttier/sandboxes/x/run/sandboxd.sock' }, token);
 * const { stdout, exitCode } = await sd.exec({ command: 'ls -la /workspace' });
 */
export function createSandboxdClient(
  target: SandboxdTarget,
  token: string,
  clientOpts: SandboxdClientOpts = {},
): SandboxdClient {
  const connectTimeoutMs = clientOpts.connectTimeoutMs ?? 5000;
  const authHeader = `Bearer ${token}`;
  // A `connect` target replaces net.connect everywhere a connection is made: in the pooled agent, in
  // one-shot requests (probe, tunnel) and in WebSockets (ws hands createConnection to http.request).
  const createConnection =
    'connect' in target
      ? (_opts: unknown, cb: (err: Error | null, sock?: Duplex) => void): undefined => {
          target.connect().then(
            (sock) => cb(null, sock),
            (err: unknown) => cb(err as Error),
          );
          return undefined;
        }
      : undefined;
  const makeAgent = (keepAlive: boolean): Agent => {
    const a = new Agent(keepAlive ? { keepAlive, timeout: 60_000, maxFreeSockets: 16 } : {});
    if (createConnection) a.createConnection = createConnection as unknown as Agent['createConnection'];
    return a;
  };
  const agent = makeAgent(true);
  /** For connections that must not be pooled (probes, upgrades). */
  const oneShot: Agent | false = createConnection ? makeAgent(false) : false;
  const base: RequestOptions =
    'socketPath' in target
      ? { socketPath: target.socketPath }
      : 'host' in target
        ? { host: target.host, port: target.port }
        : { host: 'sandboxd' };
  const wsBase =
    'socketPath' in target
      ? `ws+unix://${target.socketPath}:`
      : 'host' in target
        ? `ws://${target.host}:${target.port}`
        : 'ws://sandboxd';

  /** Fails `req` when its socket has not connected within connectTimeoutMs. */
  function guardConnect(req: ClientRequest): void {
    req.once('socket', (sock: Socket) => {
      if (!sock.connecting) return; // a kept-alive socket
      const timer = setTimeout(
        () => req.destroy(timeoutError('no connection', connectTimeoutMs)),
        connectTimeoutMs,
      );
      const clear = (): void => clearTimeout(timer);
      sock.once('connect', clear);
      sock.once('close', clear);
    });
  }

  /**
   * True when sandboxd answers `/healthz` on a fresh connection within connectTimeoutMs. Calls waiting
   * at the same time share one probe.
   */
  let probing: Promise<boolean> | undefined;
  function alive(): Promise<boolean> {
    probing ??= probe().finally(() => (probing = undefined));
    return probing;
  }
  function probe(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = httpRequest({ ...base, agent: oneShot, method: 'GET', path: '/healthz' });
      const timer = setTimeout(() => req.destroy(), connectTimeoutMs);
      req.once('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(true);
        req.destroy();
      });
      req.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      req.end();
    });
  }

  /**
   * Until `req` has its response, checks every connectTimeoutMs that sandboxd still answers, and fails
   * the request when it does not. Returns the function that stops watching.
   */
  function watchdog(req: ClientRequest): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const arm = (): void => {
      timer = setTimeout(() => {
        void alive().then((ok) => {
          if (stopped) return;
          if (ok) arm();
          else req.destroy(timeoutError('no answer', connectTimeoutMs * 2));
        });
      }, connectTimeoutMs);
    };
    arm();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  function send(spec: RequestSpec): Promise<IncomingMessage> {
    const signal = combineSignal(spec);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const headers: Record<string, string> = {};
    if (spec.auth !== false) headers.authorization = authHeader;
    let payload: Buffer | undefined;
    let stream: Readable | undefined;
    if (spec.json !== undefined) {
      payload = Buffer.from(JSON.stringify(spec.json));
      headers['content-type'] = 'application/json';
    } else if (typeof spec.body === 'string' || spec.body instanceof Uint8Array) {
      payload = Buffer.from(spec.body as string);
    } else if (spec.body !== undefined) {
      stream = spec.body instanceof Readable ? spec.body : Readable.from(spec.body);
      headers['content-type'] = 'application/octet-stream';
    }
    if (payload) headers['content-length'] = String(payload.length);
    return new Promise((resolve, reject) => {
      const req: ClientRequest = httpRequest({
        ...base,
        agent,
        method: spec.method,
        path: buildPath(spec.path, spec.query),
        headers,
      });
      guardConnect(req);
      const unwatch = watchdog(req);
      const onAbort = (): void => {
        unwatch();
        req.destroy();
        stream?.destroy();
        reject(abortError(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('response', (res) => {
        unwatch();
        res.once('close', () => signal?.removeEventListener('abort', onAbort));
        resolve(res);
      });
      req.once('error', (err) => {
        unwatch();
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) return reject(abortError(signal));
        reject(connectError(err));
      });
      if (stream) {
        stream.once('error', (err) => req.destroy(err));
        stream.pipe(req);
      } else req.end(payload);
    });
  }

  async function call<T>(spec: RequestSpec, expect: number[] = [200]): Promise<T> {
    const res = await send(spec);
    const status = res.statusCode ?? 0;
    if (!expect.includes(status)) throw errorFromBody(status, await readErrorBody(res));
    // The answer's bytes count against the router-wide budget until they are parsed.
    const lease = ROUTER_ANSWER_BUDGET.lease(spec.path);
    try {
      const body = await readCapped(res, spec.maxAnswerBytes ?? JSON_ANSWER_MAX_BYTES, spec.path, lease);
      if (status === 204 || body.length === 0) return undefined as T;
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch {
        throw new SandboxdError('internal', `sandboxd's answer to ${spec.path} is not JSON`);
      }
    } finally {
      lease.release();
    }
  }

  /**
   * Opens a WebSocket; HTTP errors before the upgrade become SandboxdErrors. Messages that arrive with
   * the handshake (before the caller can add listeners) are buffered: `take()` returns them and stops
   * buffering, so the caller replays them and then listens itself, losing nothing.
   */
  function openWs(
    path: string,
    o: CallOpts | undefined,
  ): Promise<{ ws: WebSocket; res: IncomingMessage; take: () => [RawData, boolean][] }> {
    const signal = combineSignal(o);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsBase}${path}`, {
        ...(createConnection ? { createConnection: createConnection as never } : {}),
        headers: { authorization: authHeader },
        perMessageDeflate: false,
        // One frame from the daemon: an output chunk or a terminal's replay (256 KiB by default, up
        // to 6× that once JSON-escaped). Anything larger closes the socket (1009) instead of growing.
        maxPayload: WS_FRAME_MAX_BYTES,
      });
      let settled = false;
      const handshake = setTimeout(() => {
        ws.terminate();
        fail(timeoutError('no WebSocket handshake', connectTimeoutMs));
      }, connectTimeoutMs);
      const fail = (err: unknown): void => {
        clearTimeout(handshake);
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      const onAbort = (): void => {
        ws.terminate();
        fail(abortError(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let upgradeRes: IncomingMessage | undefined;
      ws.once('upgrade', (res) => (upgradeRes = res));
      const early: [RawData, boolean][] = [];
      const buffer = (raw: RawData, isBinary: boolean): void => void early.push([raw, isBinary]);
      ws.on('message', buffer);
      const take = (): [RawData, boolean][] => {
        ws.off('message', buffer);
        return early.splice(0);
      };
      ws.once('unexpected-response', (_req, res) => {
        void readErrorBody(res).then(
          (body) => fail(errorFromBody(res.statusCode ?? 0, body)),
          (err: unknown) => fail(connectError(err)),
        );
      });
      ws.once('error', (err) => fail(connectError(err)));
      ws.once('open', () => {
        clearTimeout(handshake);
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        ws.on('error', () => {}); // later errors surface as close
        resolve({ ws, res: upgradeRes as IncomingMessage, take });
      });
    });
  }

  const files: SandboxdFiles = {
    stat: (path, o) => call({ ...o, method: 'GET', path: '/v1/files/stat', query: { path } }),
    list: (path, o) => call({ ...o, method: 'GET', path: '/v1/files/list', query: { path } }),
    async read(path, o) {
      const res = await send({
        ...o,
        method: 'GET',
        path: '/v1/files/read',
        query: { path, maxBytes: o?.maxBytes, offset: o?.offset, length: o?.length },
      });
      if (res.statusCode !== 200) throw errorFromBody(res.statusCode ?? 0, await readErrorBody(res));
      // The announced size is what the caller relays (as Content-Length): it must be there, within
      // the cap asked for, and the stream may not deliver more than it.
      const size = Number(res.headers['content-length']);
      if (!Number.isSafeInteger(size) || size < 0) {
        res.destroy();
        throw new SandboxdError('internal', 'sandboxd answered a file read without a Content-Length');
      }
      const cap = o?.maxBytes ?? READ_BUFFER_MAX_BYTES;
      if (size > cap) {
        res.destroy();
        throw new SandboxdError('too_large', `file is ${size} bytes, more than maxBytes ${cap}: ${path}`, {
          details: { size, maxBytes: cap },
        });
      }
      return { size, stream: capStream(res, size, `reading ${path}`) };
    },
    async readBuffer(path, o) {
      const { size, stream } = await files.read(path, {
        ...o,
        maxBytes: o?.maxBytes ?? READ_BUFFER_MAX_BYTES,
      });
      const chunks: Buffer[] = [];
      for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks, size);
    },
    write: (path, body, o) =>
      call(
        {
          ...o,
          method: 'PUT',
          path: '/v1/files/write',
          query: {
            path,
            mode: typeof o?.mode === 'number' ? o.mode.toString(8) : o?.mode,
            mkdirs: o?.mkdirs,
            overwrite: o?.overwrite,
            maxBytes: o?.maxBytes,
          },
          body,
        },
        [201],
      ),
    mkdir: (path, o) =>
      call(
        {
          ...o,
          method: 'POST',
          path: '/v1/files/mkdir',
          json: {
            path,
            parents: o?.parents,
            mode: typeof o?.mode === 'number' ? o.mode.toString(8) : o?.mode,
          },
        },
        [201],
      ),
    remove: (path, o) =>
      call(
        { ...o, method: 'POST', path: '/v1/files/remove', json: { path, recursive: o?.recursive ?? false } },
        [204],
      ),
    rename: (from, to, o) =>
      call({
        ...o,
        method: 'POST',
        path: '/v1/files/rename',
        json: { from, to, overwrite: o?.overwrite ?? false },
      }),
    async archive(path, o) {
      const res = await send({
        ...o,
        method: 'GET',
        path: '/v1/files/archive',
        query: { path, maxBytes: o.maxBytes, maxEntries: o.maxEntries },
      });
      if (res.statusCode !== 200) throw errorFromBody(res.statusCode ?? 0, await readErrorBody(res));
      const bytes = Number(res.headers[ARCHIVE_BYTES_HEADER]);
      const entries = Number(res.headers[ARCHIVE_ENTRIES_HEADER]);
      if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(entries) || bytes < 0 || entries < 0) {
        res.destroy();
        throw new SandboxdError('internal', 'sandboxd answered an archive without its size headers');
      }
      if (bytes > o.maxBytes || entries > o.maxEntries) {
        res.destroy();
        throw new SandboxdError(
          'too_large',
          `${path} is over ${o.maxBytes} bytes or ${o.maxEntries} entries`,
          {
            details: { maxBytes: o.maxBytes, maxEntries: o.maxEntries },
          },
        );
      }
      return {
        bytes,
        entries,
        stream: capStream(res, archiveMaxTarBytes(bytes, entries), `the archive of ${path}`),
      };
    },
    async watch(path, o) {
      const ctl = new AbortController();
      const outer = o?.signal;
      const res = await send({
        method: 'GET',
        path: '/v1/files/watch',
        query: { path, recursive: o?.recursive },
        signal: outer ? AbortSignal.any([outer, ctl.signal]) : ctl.signal,
      });
      if (res.statusCode !== 200) throw errorFromBody(res.statusCode ?? 0, await readErrorBody(res));
      // A consumer slower than the daemon pauses the socket instead of queueing without end.
      const ch = new Channel<WatchEvent>(
        () => res.pause(),
        () => res.resume(),
      );
      res.setEncoding('utf8');
      // The daemon runs inside the sandbox, so its stream is untrusted input: bounded, and a bad frame
      // ends the watch with an error instead of throwing inside this handler.
      const MAX_EVENT_CHARS = 64 * 1024;
      const parser = new SSEParser({ maxEventChars: MAX_EVENT_CHARS });
      res.on('data', (text: string) => {
        try {
          for (const { event, data } of parser.push(text)) {
            if (event === 'change' && data) ch.push(JSON.parse(data) as WatchEvent);
            else if (event === 'error' && data) {
              const e = JSON.parse(data) as { code: string; message: string };
              ch.end(daemonError(e.code, e.message));
            }
          }
        } catch (err) {
          ch.end(new SandboxdError('internal', `bad watch stream from sandboxd: ${(err as Error).message}`));
          ctl.abort();
        }
      });
      res.once('close', () => ch.end());
      outer?.addEventListener('abort', () => ch.end(), { once: true });
      return {
        close() {
          ctl.abort();
          res.destroy();
          ch.end();
        },
        [Symbol.asyncIterator]: () => ch[Symbol.asyncIterator](),
      };
    },
  };

  return {
    target,
    files,
    health: (o) => call({ ...o, method: 'GET', path: '/healthz', auth: false }),
    info: (o) => call({ ...o, method: 'GET', path: '/v1/info' }),
    exec: async (req, o) => {
      const r = await call<ExecResult>({
        ...o,
        method: 'POST',
        path: '/v1/exec',
        json: req,
        maxAnswerBytes: execAnswerMaxBytes(req.maxOutputBytes),
      });
      return capExecResult(r, req);
    },
    startProcess: (req, o) => call({ ...o, method: 'POST', path: '/v1/processes', json: req }, [201]),
    getProcess: (id, o) => call({ ...o, method: 'GET', path: `/v1/processes/${encodeURIComponent(id)}` }),
    listProcesses: async (o) =>
      (await call<{ processes: ProcessInfo[] }>({ ...o, method: 'GET', path: '/v1/processes' })).processes,
    signalProcess: (id, signal, o) =>
      call({
        ...o,
        method: 'POST',
        path: `/v1/processes/${encodeURIComponent(id)}/signal`,
        json: { signal },
      }),
    killProcess: (id, o) =>
      call({
        ...o,
        method: 'POST',
        path: `/v1/processes/${encodeURIComponent(id)}/kill`,
        json: { graceMs: o?.graceMs ?? 0 },
      }),
    removeProcess: (id, o) =>
      call({ ...o, method: 'DELETE', path: `/v1/processes/${encodeURIComponent(id)}` }, [204]),
    writeStdin: (id, data, o) =>
      call({
        ...o,
        method: 'POST',
        path: `/v1/processes/${encodeURIComponent(id)}/stdin`,
        query: { close: o?.close ? 1 : undefined },
        body: data,
      }),
    async attach(id, o) {
      const { ws, take } = await openWs(
        buildPath(`/v1/processes/${encodeURIComponent(id)}/attach`, {
          fromOffset: o?.fromOffset,
          killOnDetach: o?.killOnDetach ? 1 : undefined,
        }),
        o,
      );
      const att = new ProcessAttachment(ws);
      // The first message is always `attached`; everything after goes to the attachment.
      await new Promise<void>((resolve, reject) => {
        let started = false;
        const onMessage = (raw: RawData, isBinary: boolean): void => {
          if (started) return att.handle(raw, isBinary);
          if (isBinary) return;
          let msg: AttachServerMessage;
          try {
            msg = JSON.parse(rawToBuffer(raw).toString('utf8')) as AttachServerMessage;
          } catch {
            return;
          }
          // The daemon's code indexes the router's tables and its message reaches clients: checked.
          if (msg.type === 'error') return reject(daemonError(msg.code, msg.message));
          if (msg.type !== 'attached') return;
          att.process = msg.process;
          att.fromOffset = msg.fromOffset;
          att.droppedBytes = msg.droppedBytes;
          started = true;
          resolve();
        };
        for (const [raw, isBinary] of take()) onMessage(raw, isBinary);
        ws.on('message', onMessage);
        ws.once('close', () => {
          att.finish();
          reject(new SandboxdError('internal', 'attach closed before it started'));
        });
      });
      return att;
    },
    onStart: (o) => call({ ...o, method: 'GET', path: '/v1/onstart' }),
    async terminal(o) {
      const { ws, res, take } = await openWs(
        buildPath('/v1/pty', {
          session: o?.session,
          shell: o?.shell,
          cwd: o?.cwd,
          cols: o?.cols,
          rows: o?.rows,
          create: o?.create === false ? 'false' : undefined,
        }),
        o,
      );
      const session = String(res.headers[TERMINAL_SESSION_HEADER] ?? o?.session ?? '');
      return new TerminalConnection(ws, session, res.headers[TERMINAL_CREATED_HEADER] === 'true', take());
    },
    listTerminals: async (o) =>
      (await call<{ terminals: TerminalInfo[] }>({ ...o, method: 'GET', path: '/v1/terminals' })).terminals,
    killTerminal: (session, o) =>
      call({ ...o, method: 'DELETE', path: `/v1/terminals/${encodeURIComponent(session)}` }, [204]),
    tcpTunnel(port, o) {
      const signal = combineSignal(o);
      if (signal?.aborted) return Promise.reject(abortError(signal));
      return new Promise<Duplex>((resolve, reject) => {
        const req = httpRequest({
          ...base,
          agent: oneShot,
          method: 'GET',
          path: `/v1/tcp/${port}`,
          headers: { authorization: authHeader, connection: 'Upgrade', upgrade: TCP_UPGRADE_PROTOCOL },
        });
        guardConnect(req);
        const handshake = setTimeout(
          () => req.destroy(timeoutError('no tunnel upgrade', connectTimeoutMs)),
          connectTimeoutMs,
        );
        req.once('close', () => clearTimeout(handshake));
        const onAbort = (): void => {
          req.destroy();
          reject(abortError(signal as AbortSignal));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        req.once('upgrade', (_res, socket: Socket, head: Buffer) => {
          clearTimeout(handshake);
          signal?.removeEventListener('abort', onAbort);
          socket.setNoDelay(true);
          if (head.length > 0) socket.unshift(head);
          resolve(socket);
        });
        req.once('response', (res) => {
          clearTimeout(handshake);
          signal?.removeEventListener('abort', onAbort);
          void readErrorBody(res).then(
            (body) => reject(errorFromBody(res.statusCode ?? 0, body)),
            (err: unknown) => reject(connectError(err)),
          );
        });
        req.once('error', (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(signal?.aborted ? abortError(signal) : connectError(err));
        });
        req.end();
      });
    },
    listPorts: async (o) =>
      (await call<{ ports: ListeningPort[] }>({ ...o, method: 'GET', path: '/v1/ports' })).ports,
    usage: ({ path, ...o } = {}) =>
      call<unknown>({ ...o, method: 'GET', path: '/v1/usage', query: { path }, maxAnswerBytes: 64 << 10 }),
    close: () => {
      agent.destroy();
      if (oneShot) oneShot.destroy();
    },
  };
}
