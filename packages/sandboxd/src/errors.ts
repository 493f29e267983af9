import { SANDBOXD_ERROR_STATUS, SANDBOXD_RETRYABLE_CODES } from './protocol.ts';
import type { SandboxdErrorCode } from './protocol.ts';

/**
 * An error from sandboxd: thrown inside the daemon to produce an error response, and by the client when
 * the daemon answers with one, or cannot be reached at all (code `unreachable`, status 503, the errno in
 * `details.errno`).
 */
export class SandboxdError extends Error {
  override readonly name = 'SandboxdError';
  readonly code: SandboxdErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: SandboxdErrorCode,
    message: string,
    opts: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status ?? SANDBOXD_ERROR_STATUS[code];
    this.details = opts.details;
  }

  /** True for transient conditions where retrying after a short wait makes sense. */
  get retryable(): boolean {
    return SANDBOXD_RETRYABLE_CODES.includes(this.code);
  }
}

export function isSandboxdErrorCode(value: unknown): value is SandboxdErrorCode {
  return typeof value === 'string' && Object.hasOwn(SANDBOXD_ERROR_STATUS, value);
}
