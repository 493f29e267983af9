import { AgentTierError, ConnectionError, TimeoutError, errorFromResponse } from './errors.ts';
import type { HttpClient, Query } from './http.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- event objects differ between WebSocket implementations */

/**
 * The part of the WHATWG `WebSocket` the SDK uses. Node's global `WebSocket` and the `ws` package's
 * class both fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  readonly bufferedAmount: number;
  send(data: string | ArrayBuffer | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
}

/** A WebSocket class whose constructor accepts `(url, { headers })`. */
export type WebSocketConstructor = new (
  url: string,
  init?: { headers?: Record<string, string> },
) => WebSocketLike;

const OPEN = 1;

/** `http(s)://` → `ws(s)://`. */
export function toWebSocketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

/** Why a connection closed: the close code and reason, and whether it was this side's doing. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * An open WebSocket with its incoming messages buffered until a handler is set, so nothing that
 * arrives between the upgrade and the caller's first `onMessage` is lost.
 */
export class WebSocketChannel {
  private buffered: Array<string | Uint8Array> = [];
  private messageHandler: ((data: string | Uint8Array) => void) | undefined;
  private closeHandlers: Array<(info: CloseInfo) => void> = [];
  private closedWith: CloseInfo | undefined;

  /** @internal */
  constructor(readonly socket: WebSocketLike) {
    socket.addEventListener('message', (ev: any) => {
      const data = toData(ev.data);
      if (this.messageHandler) this.messageHandler(data);
      else this.buffered.push(data);
    });
    socket.addEventListener('close', (ev: any) => {
      this.closedWith = { code: Number(ev?.code ?? 1006), reason: String(ev?.reason ?? '') };
      for (const fn of this.closeHandlers.splice(0)) fn(this.closedWith);
    });
    // Errors are followed by `close`; without a listener some implementations treat them as fatal.
    socket.addEventListener('error', () => {});
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  /** Bytes queued for sending and not yet handed to the network. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount ?? 0;
  }

  /** Text frames arrive as strings, binary frames as bytes. Buffered messages are delivered first. */
  onMessage(handler: (data: string | Uint8Array) => void): void {
    this.messageHandler = handler;
    for (const data of this.buffered.splice(0)) handler(data);
  }

  /** Called once when the socket closes (at once, asynchronously, if it already has). */
  onClose(handler: (info: CloseInfo) => void): void {
    if (this.closedWith) {
      const info = this.closedWith;
      queueMicrotask(() => handler(info));
    } else {
      this.closeHandlers.push(handler);
    }
  }

  send(data: string | Uint8Array): void {
    if (this.isOpen) this.socket.send(data);
  }

  close(code = 1000, reason = ''): void {
    try {
      this.socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  /** Stops reading from the network (implementations that support it, such as `ws`); for backpressure. */
  pause(): void {
    (this.socket as { pause?: () => void }).pause?.();
  }

  resume(): void {
    (this.socket as { resume?: () => void }).resume?.();
  }
}

function toData(data: unknown): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) {
    // `ws` with binaryType "fragments"
    const parts = data.map((d) => toData(d) as Uint8Array);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
  return String(data);
}

export interface OpenWebSocketOpts {
  /** Path below the server root, e.g. `/ws/terminal/demo`. */
  path: string;
  query?: Query;
  signal?: AbortSignal | undefined;
  /** How long the upgrade may take. @default the client's timeoutMs */
  timeoutMs?: number;
  /** What is being opened, for messages ("the terminal of sandbox demo"). */
  what: string;
  /**
   * Explains a refused upgrade in API terms when the WebSocket implementation hides the HTTP answer
   * (Node's global one does): typically fetches the sandbox so a missing or stopped one throws
   * NotFoundError / ConflictError. Returns normally when it finds nothing wrong.
   */
  diagnose?: () => Promise<void>;
}

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    if (key !== 'accept') out[key] = value;
  });
  return out;
}

/**
 * Opens a WebSocket to the API server with the client's credentials and maps a failed upgrade to the
 * same typed errors as HTTP calls: the status and JSON body when the implementation exposes them
 * (`ws`), else whatever `diagnose` finds, else ConnectionError.
 */
export async function openWebSocket(http: HttpClient, opts: OpenWebSocketOpts): Promise<WebSocketChannel> {
  const Impl = http.opts.WebSocket;
  if (!Impl) {
    throw new TypeError(
      'no WebSocket implementation: use Node 22+ or pass { WebSocket } (e.g. from the ws package) to new AgentTier()',
    );
  }
  opts.signal?.throwIfAborted();
  const url = toWebSocketUrl(http.url(opts.path, opts.query));
  const timeoutMs = opts.timeoutMs ?? http.opts.timeoutMs;
  const socket = new Impl(url, { headers: headerRecord(http.headers()) });
  socket.binaryType = 'arraybuffer';
  const channel = new WebSocketChannel(socket);

  type Failure = { err?: unknown; detail?: string; status?: number };
  const failure = await new Promise<Failure | undefined>((resolve) => {
    let settled = false;
    const finish = (f: Failure | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.removeEventListener('open', onOpen);
      socket.removeEventListener('error', onError);
      socket.removeEventListener('close', onCloseEarly);
      resolve(f);
    };
    const onOpen = (): void => finish(undefined);
    const onError = (ev: any): void => {
      const message = String(ev?.message ?? ev?.error?.message ?? '');
      const m = /Unexpected server response: (\d+)/.exec(message);
      finish({ detail: message, ...(m ? { status: Number(m[1]) } : {}) });
    };
    const onCloseEarly = (ev: any): void =>
      finish({ detail: `closed with code ${String(ev?.code ?? 1006)}` });
    const onAbort = (): void => {
      finish({ err: opts.signal?.reason });
      channel.close();
    };
    const timer = setTimeout(() => {
      finish({
        err: new TimeoutError(`opening ${opts.what} timed out after ${timeoutMs}ms`, {
          code: 'CLIENT_TIMEOUT',
          hint: 'Check that the server is healthy',
        }),
      });
      channel.close();
    }, timeoutMs);
    socket.addEventListener('open', onOpen);
    socket.addEventListener('error', onError);
    socket.addEventListener('close', onCloseEarly);
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    // `ws` hands over the refused answer itself: read its status and JSON body.
    const emitter = socket as unknown as {
      once?: (event: string, fn: (req: any, res: any) => void) => void;
    };
    if (typeof emitter.once === 'function') {
      emitter.once('unexpected-response', (req: any, res: any) => {
        const chunks: Uint8Array[] = [];
        res.on('data', (c: Uint8Array) => chunks.push(c));
        res.on('end', () => {
          const text = new TextDecoder().decode(concat(chunks));
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            // plain text
          }
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers ?? {})) {
            if (typeof v === 'string') headers.set(k, v);
          }
          finish({
            err: errorFromResponse({ status: res.statusCode ?? 0, body, headers, what: opts.what }),
          });
          req.destroy?.();
        });
        res.on('error', () => finish({ status: res.statusCode }));
      });
    }
  });
  if (!failure) return channel;
  if (failure.err !== undefined) throw failure.err;
  if (opts.diagnose) await opts.diagnose();
  if (failure.status !== undefined) {
    const status = failure.status;
    throw errorFromResponse({ status, body: undefined, what: `opening ${opts.what}` });
  }
  throw new ConnectionError(`could not open ${opts.what}${failure.detail ? ` (${failure.detail})` : ''}`, {
    code: 'CONNECTION_FAILED',
    hint: 'Check that the server is reachable and supports WebSockets (proxies must pass the Upgrade header)',
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** True for errors that will not go away by reconnecting (gone, stopped, refused credentials, bad input). */
export function isFinalError(err: unknown): boolean {
  if (!(err instanceof AgentTierError)) return false;
  if (err instanceof ConnectionError || err instanceof TimeoutError) return false;
  return err.status >= 400 && err.status < 500 && err.status !== 429;
}
