import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ErrorBody, ErrorCode } from '@agenttier/contract';
import { ERROR_STATUS } from '@agenttier/contract';

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (headers too large, a malformed request
 * line, a client that never finished sending) get the same `{error, code, message, requestId}` body as
 * every other error, instead of Node's empty 400 or Fastify's `{error, message, statusCode}`.
 */
const BY_PARSER_CODE: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    code: 'HEADERS_TOO_LARGE',
    message: 'request headers are too large (16 KiB at most); send fewer or shorter headers',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    code: 'REQUEST_TIMEOUT',
    message: 'the request was not received in time; send the headers and body without pausing',
  },
};

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** The raw HTTP/1.1 error response for a socket-level rejection (closes the connection). */
export function rawErrorResponse(code: ErrorCode, message: string, requestId: string): string {
  const status = ERROR_STATUS[code];
  const body: ErrorBody = { error: message, code, message, requestId };
  const json = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(json)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${json}`
  );
}

/** Fastify's `clientErrorHandler`: answers parser errors in the one error shape, then closes. */
export function handleClientError(
  err: NodeJS.ErrnoException & { bytesParsed?: number },
  socket: Socket,
): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = err.code ? BY_PARSER_CODE[err.code] : undefined;
  const code: ErrorCode = known?.code ?? 'BAD_REQUEST';
  const message =
    known?.message ?? `malformed HTTP request (${err.code ?? 'parse error'}); send a valid HTTP/1.1 request`;
  // Node marks a socket that already sent a response and waits to close; writing again would corrupt it.
  if (socket.writable && !(socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent)
    socket.write(rawErrorResponse(code, message, randomBytes(8).toString('hex')));
  socket.destroy();
}
