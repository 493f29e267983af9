import {
  AgentTierError,
  ConnectionError,
  TimeoutError,
  connectionError,
  errorFromResponse,
} from './errors.ts';
import type { ResolvedOpts } from './options.ts';
import { readTokenFile } from './options.ts';
import { readSSE, type SSEEvent } from './sse.ts';
import { SDK_VERSION } from './version.ts';

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOpts {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  /** Path below the server root, already encoded, e.g. `/api/v1/sandboxes/demo`. */
  path: string;
  query?: Query;
  /** A JSON body (sets `Content-Type: application/json`). */
  json?: unknown;
  /** A raw body; streams are sent with `duplex: 'half'`. */
  body?: Uint8Array | string | ReadableStream<Uint8Array> | Blob;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number | undefined;
  /** When true the timeout covers only the wait for response headers, not the body. */
  streaming?: boolean;
}

/** Encodes each segment of a `/a/b c` style path for use in a URL path. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function isAbortLike(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/**
 * The transport every SDK call goes through: URL building, auth headers, timeouts combined with the
 * caller's `AbortSignal`, and the single error mapping.
 */
export class HttpClient {
  constructor(readonly opts: ResolvedOpts) {}

  get apiUrl(): string {
    return this.opts.apiUrl;
  }

  url(path: string, query?: Query): string {
    const url = new URL(this.opts.apiUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  headers(extra?: Record<string, string>): Headers {
    const headers = new Headers({
      'User-Agent': `agenttier-js-sdk/${SDK_VERSION}`,
      Accept: 'application/json',
      ...this.opts.headers,
    });
    if (this.opts.apiKey) headers.set('X-API-Key', this.opts.apiKey);
    else if (this.opts.token) headers.set('Authorization', `Bearer ${this.opts.token}`);
    else if (this.opts.tokenFile) {
      const token = readTokenFile(this.opts.tokenFile);
      if (token) headers.set('Authorization', `Bearer ${token}`);
    }
    for (const [key, value] of Object.entries(extra ?? {})) headers.set(key, value);
    return headers;
  }

  /**
   * Sends a request and hands the successful response to `read`, all under one timeout. Non-2xx
   * responses become typed errors; aborts rethrow the caller's reason; no response → ConnectionError.
   */
  async call<T>(req: RequestOpts, read: (res: Response) => Promise<T>): Promise<T> {
    const what = `${req.method} ${req.path}`;
    const timeoutMs = req.timeoutMs ?? this.opts.timeoutMs;
    const timer = new AbortController();
    let timedOut = false;
    const handle = setTimeout(() => {
      timedOut = true;
      timer.abort(new Error('timeout'));
    }, timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timer.signal]) : timer.signal;

    const fail = (err: unknown, phase: 'connect' | 'read'): unknown => {
      if (req.signal?.aborted) return req.signal.reason;
      if (timedOut) {
        return new TimeoutError(`${what} timed out after ${timeoutMs}ms`, {
          code: 'CLIENT_TIMEOUT',
          hint: 'Raise timeoutMs, or check that the server is healthy',
          cause: err,
        });
      }
      if (err instanceof AgentTierError) return err;
      if (phase === 'connect' && (err instanceof TypeError || isAbortLike(err))) {
        return connectionError(this.opts.apiUrl, err);
      }
      if (phase === 'read' && err instanceof TypeError) {
        return new ConnectionError(`connection lost while reading the response to ${what}`, {
          code: 'CONNECTION_FAILED',
          hint: 'Retry; if it keeps happening check the server logs',
          cause: err,
        });
      }
      return err;
    };

    try {
      let body: RequestInit['body'];
      const headers = this.headers(req.headers);
      if (req.json !== undefined) {
        body = JSON.stringify(req.json);
        headers.set('Content-Type', 'application/json');
      } else if (req.body !== undefined) {
        body = req.body as RequestInit['body'];
        if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/octet-stream');
      }
      const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, body, signal };
      if (req.body instanceof ReadableStream) init.duplex = 'half';

      let res: Response;
      try {
        res = await this.opts.fetch(this.url(req.path, req.query), init);
      } catch (err) {
        throw fail(err, 'connect');
      }
      if (req.streaming) clearTimeout(handle);
      try {
        if (!res.ok) throw await this.errorFrom(res, what);
        return await read(res);
      } catch (err) {
        throw fail(err, 'read');
      }
    } finally {
      clearTimeout(handle);
    }
  }

  /** Reads an error response's body (JSON or text) and maps it. */
  private async errorFrom(res: Response, what: string): Promise<AgentTierError> {
    let text = '';
    try {
      text = await res.text();
    } catch {
      // The body is a courtesy; the status already says what happened.
    }
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (e.g. a proxy's HTML page): keep the text.
    }
    return errorFromResponse({ status: res.status, body, headers: res.headers, what });
  }

  /** A JSON request with a JSON (or empty) response. */
  async json<T>(req: RequestOpts): Promise<T> {
    return this.call(req, async (res) => {
      const text = await res.text();
      if (text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (err) {
        throw new AgentTierError(`${req.method} ${req.path} returned a body that is not JSON`, {
          code: 'UNKNOWN',
          status: res.status,
          requestId: res.headers.get('x-request-id') ?? undefined,
          hint: 'Check that the API URL points at an AgentTier server',
          cause: err,
        });
      }
    });
  }

  /** A request whose response body is streamed by the caller; the timeout stops at the headers. */
  async open(req: RequestOpts): Promise<Response> {
    return this.call({ ...req, streaming: true }, async (res) => res);
  }

  /**
   * A request answered with `text/event-stream`. Errors before the stream opens are thrown as typed
   * errors; afterwards events are yielded as they arrive.
   */
  async *events(req: RequestOpts): AsyncGenerator<SSEEvent, void, undefined> {
    const { events } = await this.openEvents(req);
    yield* events;
  }

  /**
   * Like `events`, but resolves once the stream is open and also hands back the response (for headers
   * such as `X-Invoke-Id`). The caller must iterate `events` (or call `events.return()`) to release it.
   */
  async openEvents(
    req: RequestOpts,
  ): Promise<{ response: Response; events: AsyncGenerator<SSEEvent, void, undefined> }> {
    const response = await this.open({
      ...req,
      headers: { Accept: 'text/event-stream', ...req.headers },
    });
    const body = response.body;
    const what = `${req.method} ${req.path}`;
    async function* events(): AsyncGenerator<SSEEvent, void, undefined> {
      if (!body) return;
      try {
        yield* readSSE(body, req.signal ? { signal: req.signal } : {});
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason;
        if (err instanceof TypeError) {
          throw new ConnectionError(`the event stream of ${what} broke off`, {
            code: 'CONNECTION_FAILED',
            cause: err,
          });
        }
        throw err;
      }
    }
    return { response, events: events() };
  }
}
