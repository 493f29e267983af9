import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { SandboxdError } from '../errors.ts';
import type { ErrorBody } from '../protocol.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function toSandboxdError(err: unknown): SandboxdError {
  if (err instanceof SandboxdError) return err;
  return new SandboxdError('internal', 'internal error', { cause: err });
}

export function errorBody(err: SandboxdError): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.details) body.error.details = err.details;
  return body;
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = toSandboxdError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.status, errorBody(e));
}

/** Answers an upgrade request with a plain HTTP error (before any protocol switch) and closes. */
export function rejectUpgrade(socket: Duplex, err: unknown): void {
  const e = toSandboxdError(err);
  const text = JSON.stringify(errorBody(e));
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(text)}\r\n` +
        'Connection: close\r\n\r\n' +
        text,
    );
  }
  socket.destroy();
}

/** Reads and parses a JSON body; at most `limit` bytes. An empty body is `{}`. */
export async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new SandboxdError('too_large', `request body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SandboxdError('invalid_argument', 'request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SandboxdError('invalid_argument', 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new SandboxdError('invalid_argument', `${name} must be a non-negative integer`);
  return n;
}

export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (v === '' || v === '1' || v === 'true' || v === 'yes') return true;
  if (v === '0' || v === 'false' || v === 'no') return false;
  throw new SandboxdError('invalid_argument', `${name} must be true or false`);
}
