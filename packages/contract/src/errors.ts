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
  /** A browser request from an origin the router does not accept (cross-site request forgery). */
  ORIGIN_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  SANDBOX_NOT_FOUND: 404,
  TEMPLATE_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  /** No background process with that id in the sandbox (it never existed, or sandboxd restarted). */
  PROCESS_NOT_FOUND: 404,
  /** No agent invoke with that id for the sandbox, or it is no longer in flight (cancel). */
  INVOKE_NOT_FOUND: 404,
  /** The sandbox does not forward that port (a preview, a preview link, a forward by name). */
  PORT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** The client did not send the whole request in time (slow or stalled upload, half-sent headers). */
  REQUEST_TIMEOUT: 408,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  INVALID_PHASE: 409,
  SANDBOX_NOT_RUNNING: 409,
  TEMPLATE_IN_USE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** The Host header names no host this router serves (DNS rebinding, a misrouted proxy). */
  HOST_NOT_ALLOWED: 421,
  UNPROCESSABLE: 422,
  NOT_CONFIGURED: 424,
  CONCURRENCY_EXCEEDED: 429,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  /** The platform this server runs on does not offer the feature (agent mode on Kubernetes, for now). */
  NOT_IMPLEMENTED: 501,
  RUNTIME_FAILED: 502,
  UPSTREAM_UNREACHABLE: 502,
  UNAVAILABLE: 503,
  /** The sandbox is at one of its own limits (pids, memory, descriptors): sandboxd is alive, retry later. */
  SANDBOX_BUSY: 503,
  TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Codes a client may retry after a pause without changing its request. */
export const RETRYABLE_CODES: readonly ErrorCode[] = [
  'CONCURRENCY_EXCEEDED',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'SANDBOX_BUSY',
  'UPSTREAM_UNREACHABLE',
  'TIMEOUT',
];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/**
 * The code a bare HTTP status stands for: a framework error without one of ours, or a seed-product
 * body without `code`. The one table; the server's framework errors and the SDK both use it.
 */
export const STATUS_CODE: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  421: 'HOST_NOT_ALLOWED',
  422: 'UNPROCESSABLE',
  424: 'NOT_CONFIGURED',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  502: 'UPSTREAM_UNREACHABLE',
  503: 'UNAVAILABLE',
  504: 'TIMEOUT',
};

/** STATUS_CODE, with BAD_REQUEST / INTERNAL for a 4xx / 5xx it does not list; undefined below 400. */
export function codeForStatus(status: number): ErrorCode | undefined {
  if (status < 400) return undefined;
  return STATUS_CODE[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
}

/**
 * What a caller can do next, by code: the one hint table. The SDK appends the hint to its error
 * messages; the CLI prints it unless it has a hint naming a command. Client-neutral on purpose (no SDK
 * option or CLI command names); `docs/errors.md` has the long form of each.
 */
export const ERROR_HINTS: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: 'Fix the request and try again',
  VALIDATION_FAILED: 'Fix the fields listed in details and try again',
  INVALID_JSON: 'Send a valid JSON document with Content-Type: application/json',
  UNPROCESSABLE: 'Fix the request and try again',
  POLICY_VIOLATION: 'Ask an administrator about the governance policy, or request less',
  QUOTA_EXCEEDED: 'Delete sandboxes you no longer need, or ask an administrator for a higher cap',
  PAYLOAD_TOO_LARGE: 'Files are capped at 32 MiB per request; split or compress the file',
  UNSUPPORTED_MEDIA_TYPE:
    'Send JSON with Content-Type: application/json (raw uploads: application/octet-stream)',
  HOST_NOT_ALLOWED: 'Use a loopback address, or have the server allow this host name',
  ORIGIN_NOT_ALLOWED: 'Call the API from its own origin, or have the server allow this web origin',
  UPSTREAM_UNREACHABLE: 'Retry after a moment; if it keeps failing, stop and resume the sandbox',
};

/** The hint for a retryable refusal: when to try again. */
export function retryHint(retryAfterMs: number | undefined): string {
  return retryAfterMs !== undefined
    ? `Retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))}s`
    : 'Slow down and retry';
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
