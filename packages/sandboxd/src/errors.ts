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

/** Characters of a daemon's error message that reach a client (and a terminal, through the CLI). */
export const DAEMON_MESSAGE_MAX_CHARS = 4096;

/** C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder a terminal line. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE_RE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * An error message as the daemon wrote it, made safe to pass on: the daemon runs in the sandbox, so
 * its words are the sandbox's. Control characters (terminal escapes) become spaces and the length is
 * capped; anything that is not a string becomes `fallback`.
 */
export function daemonMessage(value: unknown, fallback: string): string {
  if (typeof value !== 'string') return fallback;
  const clean = value.slice(0, DAEMON_MESSAGE_MAX_CHARS + 1).replace(UNPRINTABLE_RE, ' ');
  return clean.length > DAEMON_MESSAGE_MAX_CHARS ? `${clean.slice(0, DAEMON_MESSAGE_MAX_CHARS)}…` : clean;
}

/**
 * An error the daemon reported in its own words: a code from the catalogue and a cleaned message, or
 * `bad_answer` when the code is not one of ours (`__proto__`, say, must never index a table).
 */
export function daemonError(
  code: unknown,
  message: unknown,
  opts: { status?: number; details?: Record<string, unknown> } = {},
): SandboxdError {
  if (!isSandboxdErrorCode(code) || code === 'unreachable' || code === 'bad_answer')
    return new SandboxdError('bad_answer', 'sandboxd answered an error whose code is not in its catalogue');
  return new SandboxdError(code, daemonMessage(message, code), opts);
}
