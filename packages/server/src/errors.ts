import type { ErrorBody, ErrorCode } from '@agenttier/contract';
import { ERROR_STATUS, PlatformError, codeForStatus, isErrorCode } from '@agenttier/contract';

/** Fastify's own error codes and what they mean on our wire. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  PAYLOAD_TOO_LARGE: 'request body is too large',
  INVALID_JSON: 'request body is not valid JSON',
  UNSUPPORTED_MEDIA_TYPE: 'send JSON with Content-Type: application/json',
};

/**
 * The one place where any thrown thing becomes a status code and a wire body. Unknown errors become
 * INTERNAL with a generic message (the detail goes to the log, not to the client).
 */
export function toWireError(
  err: unknown,
  requestId: string,
): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof PlatformError) {
    const body: ErrorBody = {
      error: err.message,
      code: err.code,
      message: err.message,
      requestId,
      ...(err.details ? { details: err.details } : {}),
      ...(err.extra ?? {}),
    };
    return { status: err.status, body, headers: err.headers ?? {} };
  }
  const e = (err ?? {}) as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  let code: ErrorCode | undefined = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (!code && err instanceof SyntaxError) code = 'INVALID_JSON';
  if (!code && e.statusCode && e.statusCode >= 400 && e.statusCode < 500) code = codeForStatus(e.statusCode);
  if (code && isErrorCode(code)) {
    const message =
      code === 'INVALID_JSON'
        ? `request body is not valid JSON: ${e.message ?? ''}`.trim()
        : (e.message ?? HINTS[code] ?? code);
    return { status: ERROR_STATUS[code], body: { error: message, code, message, requestId }, headers: {} };
  }
  const message = `internal error (request ${requestId}); see the server log`;
  return { status: 500, body: { error: message, code: 'INTERNAL', message, requestId }, headers: {} };
}
