/**
 * A tiny real HTTP server for tests (127.0.0.1, port 0). Routes are `METHOD /path` keys matched on
 * the exact pathname; anything else answers 500 and is recorded in `unhandled`, so nothing silently
 * succeeds. Exported as `@agenttier/sdk/testing` for the CLI tests; not part of the SDK API.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

export type TestHandler = (req: TestRequest, res: ServerResponse) => void | Promise<void>;

export interface TestServer {
  url: string;
  /** Every request received, in order. */
  requests: TestRequest[];
  /** `METHOD /path` of requests no route handled. */
  unhandled: string[];
  route(key: string, handler: TestHandler): void;
  close(): Promise<void>;
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
  const requests: TestRequest[] = [];
  const unhandled: string[] = [];
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    unhandled,
    route: (key, handler) => table.set(key, handler),
    close: () =>
      new Promise<void>((resolve) => {
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
