/**
 * A tiny real HTTP server for tests (127.0.0.1, port 0). Routes are `METHOD /path` keys matched on
 * the exact pathname; anything else answers 500 and is recorded in `unhandled`, so nothing silently
 * succeeds. WebSocket upgrades have their own routes (`upgrade('GET /ws/…', …)`; hand the socket to
 * `ws`'s `WebSocketServer.handleUpgrade`); unrouted upgrades answer 404 and are recorded as
 * `UPGRADE GET /path`. Exported as `@agenttier/sdk/testing` for the CLI tests; not part of the SDK API.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatSSE, formatSSEComment } from '@agenttier/contract/sse';

export interface TestRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

export type TestHandler = (req: TestRequest, res: ServerResponse) => void | Promise<void>;

/** Handles a WebSocket upgrade: `raw` is what Node's `upgrade` event gave. */
export type UpgradeHandler = (
  req: TestRequest,
  raw: { req: IncomingMessage; socket: Duplex; head: Buffer },
) => void;

export interface TestServer {
  url: string;
  /** Every request received, in order (upgrades too, with an empty body). */
  requests: TestRequest[];
  /** `METHOD /path` of requests no route handled (`UPGRADE METHOD /path` for upgrades). */
  unhandled: string[];
  route(key: string, handler: TestHandler): void;
  /** Routes a WebSocket upgrade, e.g. `upgrade('GET /ws/terminal/demo', …)`. */
  upgrade(key: string, handler: UpgradeHandler): void;
  close(): Promise<void>;
}

/** Opens a `text/event-stream` response; `send` writes one event (data JSON-encoded unless a string). */
export function openSse(res: ServerResponse, headers: Record<string, string> = {}) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', ...headers });
  res.flushHeaders();
  return {
    /** Resolves once the event is handed to the socket (before a `destroy()` that must not lose it). */
    send(event: string, data: unknown, id?: number | string): Promise<void> {
      return new Promise((resolve) => res.write(formatSSE(event, data, id), () => resolve()));
    },
    comment(text = 'keepalive'): void {
      res.write(formatSSEComment(text));
    },
    end(): void {
      res.end();
    },
    /** Cuts the connection without ending the chunked body (the client sees a broken stream). */
    destroy(): void {
      res.destroy();
    },
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'X-Request-ID': 'req-test-1',
    ...headers,
  });
  res.end(text);
}

export async function startTestServer(routes: Record<string, TestHandler> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const upgrades = new Map<string, UpgradeHandler>();
  const requests: TestRequest[] = [];
  const unhandled: string[] = [];
  const sockets = new Set<Duplex>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = Buffer.concat(chunks);
      const tr: TestRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        json: <T>() => JSON.parse(body.toString('utf8')) as T,
      };
      requests.push(tr);
      const key = `${tr.method} ${tr.path}`;
      const handler = table.get(key);
      if (!handler) {
        unhandled.push(key);
        sendJson(res, 500, { error: `test server: no route for ${key}`, code: 'INTERNAL' });
        return;
      }
      Promise.resolve(handler(tr, res)).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(err), code: 'INTERNAL' });
        else res.destroy();
      });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://localhost');
    const tr: TestRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.alloc(0),
      json: <T>() => ({}) as T,
    };
    requests.push(tr);
    const key = `${tr.method} ${tr.path}`;
    const handler = upgrades.get(key);
    if (!handler) {
      unhandled.push(`UPGRADE ${key}`);
      const body = JSON.stringify({ error: `test server: no upgrade route for ${key}`, code: 'NOT_FOUND' });
      socket.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    handler(tr, { req, socket, head });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    unhandled,
    route: (key, handler) => table.set(key, handler),
    upgrade: (key, handler) => upgrades.set(key, handler),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A SandboxView with sensible defaults for tests. */
export function sandboxView(name: string, status = 'Running', extra: Record<string, unknown> = {}) {
  return {
    sandboxId: name,
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    status,
    phase: status,
    desiredState: status === 'Stopped' ? 'Stopped' : 'Running',
    mode: 'code',
    templateRef: 'general-coding',
    podName: `at-${name}`,
    pvcName: `at-${name}-workspace`,
    message: '',
    createdAt: new Date(Date.now() - 90_000).toISOString(),
    labels: {},
    conditions: [],
    resourceVersion: '1',
    ...extra,
  };
}

/** A process as the API lists it: a running background process with no output yet, then `extra`. */
export function processView(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    name: null,
    kind: 'background',
    pid: 42,
    command: ['sh', '-c', 'x'],
    cwd: '/workspace',
    state: 'running',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    exitCode: null,
    signal: null,
    timedOut: false,
    durationMs: null,
    killOnDetach: false,
    stdinOpen: true,
    attachments: 0,
    outputBytes: 0,
    bufferStartOffset: 0,
    ...extra,
  };
}

export interface InvokeStreamScript {
  lines: Array<['stdout' | 'stderr', string]>;
  exit: { exitCode: number; reason: string };
  startedAtMs: number;
  durationMs: number;
}

/**
 * Answers `POST <invokePath>` with an invoke's event stream (invoke id `inv-1`): start, one `log`
 * event per line, then exit.
 */
export function routeInvokeStream(server: TestServer, invokePath: string, script: InvokeStreamScript): void {
  server.route(`POST ${invokePath}`, (_req, res) => {
    const sse = openSse(res, { 'X-Invoke-Id': 'inv-1' });
    let id = 0;
    sse.send('start', { invokeId: 'inv-1', startedAt: script.startedAtMs }, ++id);
    for (const [stream, data] of script.lines) sse.send('log', { stream, data }, ++id);
    sse.send('exit', { invokeId: 'inv-1', durationMs: script.durationMs, ...script.exit }, ++id);
    sse.end();
  });
}

/**
 * Answers `POST <sandboxPath>/invoke` with a run that starts, logs one stdout line and stays open, and
 * `POST <sandboxPath>/invoke/cancel` with 204: for tests of cancelling a run in flight.
 */
export function routeRunningInvoke(
  server: TestServer,
  sandboxPath: string,
  run: { invokeId: string; stdout: string },
): void {
  server.route(`POST ${sandboxPath}/invoke`, (_req, res) => {
    const sse = openSse(res, { 'X-Invoke-Id': run.invokeId });
    sse.send('start', { invokeId: run.invokeId, startedAt: 1 }, 1);
    sse.send('log', { stream: 'stdout', data: run.stdout }, 2);
  });
  server.route(`POST ${sandboxPath}/invoke/cancel`, (_req, res) => {
    res.writeHead(204);
    res.end();
  });
}
