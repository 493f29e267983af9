/**
 * The one catalogue of error codes. Every layer (server, SDK, CLI exit codes) switches on `code`,
 * never on message text. `docs/errors.md` lists each code with how to fix it; a test keeps the two in step.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  WRONG_MODE: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  POLICY_VIOLATION: 403,
  /** The install's cap on sandboxes is reached (like a Kubernetes ResourceQuota: 403, not retryable). */
  QUOTA_EXCEEDED: 403,
  NOT_FOUND: 404,
  SANDBOX_NOT_FOUND: 404,
  TEMPLATE_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  INVALID_PHASE: 409,
  SANDBOX_NOT_RUNNING: 409,
  TEMPLATE_IN_USE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  NOT_CONFIGURED: 424,
  CONCURRENCY_EXCEEDED: 429,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  /** The platform this server runs on does not offer the feature (agent mode on Kubernetes, for now). */
  NOT_IMPLEMENTED: 501,
  RUNTIME_FAILED: 502,
  UPSTREAM_UNREACHABLE: 502,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Codes a client may retry after a pause without changing its request. */
export const RETRYABLE_CODES: readonly ErrorCode[] = [
  'CONCURRENCY_EXCEEDED',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'UPSTREAM_UNREACHABLE',
  'TIMEOUT',
];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** One field problem in a validation error: `field` is a dotted path such as `spec.timeout`. */
export interface FieldIssue {
  field: string;
  rule: string;
  message: string;
}

/**
 * The wire body of every error. `error` stays a human string for wire compatibility with the seed
 * product's clients (they read `body.error` as the message); `code` is the machine-readable part.
 */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  message: string;
  requestId?: string;
  details?: FieldIssue[];
  [extra: string]: unknown;
}

/** Thrown by domain code anywhere; the server maps it to the wire in one place. */
export class PlatformError extends Error {
  readonly code: ErrorCode;
  readonly details?: FieldIssue[];
  readonly extra?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: {
      cause?: unknown;
      details?: FieldIssue[];
      extra?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'PlatformError';
    this.code = code;
    if (opts.details) this.details = opts.details;
    if (opts.extra) this.extra = opts.extra;
    if (opts.headers) this.headers = opts.headers;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isPlatformError(err: unknown): err is PlatformError {
  return err instanceof PlatformError;
}
