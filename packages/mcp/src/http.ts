import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentTier } from '@agenttier/sdk';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpServer } from './server.ts';

export interface McpHttpOpts {
  /** The router every tool call goes to, with the MCP caller's own credential. */
  apiUrl: string;
  /** A loopback address. @default 127.0.0.1 */
  host?: string;
  /** @default 8765; 0 picks a free port */
  port?: number;
  /** Largest request body. @default 48 MiB (a 32 MiB file written as base64, plus the envelope) */
  maxBodyBytes?: number;
}

export interface McpHttpServer {
  /** The endpoint, e.g. `http://127.0.0.1:8765/mcp`. */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const DEFAULT_MAX_BODY_BYTES = 48 * 1024 * 1024;

function refuse(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error: message, code, message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

/** `Host` names this server answers to: its loopback names with its port (DNS-rebinding defence). */
function hostAllowed(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!m) return false;
  const name = (m[1] ?? '').replace(/^\[|\]$/g, '').toLowerCase();
  return LOOPBACK.has(name) && (m[2] === undefined ? port === 80 : Number(m[2]) === port);
}

/** The caller's credential: `X-API-Key`, or `Authorization: Bearer …`. */
function credential(req: IncomingMessage): { apiKey: string } | { token: string } | undefined {
  const key = req.headers['x-api-key'];
  if (typeof key === 'string' && key.trim()) return { apiKey: key.trim() };
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  return bearer ? { token: bearer } : undefined;
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return 'too-large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * MCP over streamable HTTP (stateless: every POST stands alone) on a loopback port. It holds no
 * authority of its own: each request must carry the caller's API key or bearer token, and the tools of
 * that request act on the router with exactly that credential. Browsers are kept out (a request with
 * an `Origin` is refused, and only the loopback `Host` names are answered, against DNS rebinding).
 */
export async function startMcpHttp(opts: McpHttpOpts): Promise<McpHttpServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`the MCP HTTP server listens on loopback only, not ${host}`);
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let port = opts.port ?? 8765;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req.headers.host, port)) {
      refuse(
        res,
        421,
        'HOST_NOT_ALLOWED',
        `host ${String(req.headers.host)} is not this server; use 127.0.0.1:${port}`,
      );
      return;
    }
    if (req.headers.origin !== undefined) {
      refuse(
        res,
        403,
        'ORIGIN_NOT_ALLOWED',
        'requests from web pages are refused; MCP clients send no Origin',
      );
      return;
    }
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/mcp') {
      refuse(res, 404, 'NOT_FOUND', `${req.method} ${req.url} is not an MCP endpoint; use POST /mcp`);
      return;
    }
    if (req.method !== 'POST') {
      refuse(res, 405, 'METHOD_NOT_ALLOWED', 'this server is stateless: POST /mcp only', { allow: 'POST' });
      return;
    }
    const who = credential(req);
    if (!who) {
      refuse(
        res,
        401,
        'UNAUTHENTICATED',
        'send your AgentTier API key as X-API-Key or Authorization: Bearer',
        {
          'www-authenticate': 'Bearer',
        },
      );
      return;
    }
    const raw = await readBody(req, maxBodyBytes);
    if (raw === 'too-large') {
      refuse(res, 413, 'PAYLOAD_TOO_LARGE', `request bodies are capped at ${maxBodyBytes} bytes`);
      req.resume();
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      refuse(res, 400, 'INVALID_JSON', 'the body is not JSON (a JSON-RPC message or batch)');
      return;
    }
    // env: {} so the client never falls back to this process's own credentials.
    const client = new AgentTier({ apiUrl: opts.apiUrl, ...who, env: {} });
    const server = createMcpServer(client);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) refuse(res, 500, 'INTERNAL', err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
