import type { ErrorCode, FieldIssue } from '@agenttier/contract';
import { ERROR_HINTS, RETRYABLE_CODES, codeForStatus, isErrorCode, retryHint } from '@agenttier/contract';

/** Codes the SDK assigns itself, for failures that never produced an HTTP error body. */
export type ClientErrorCode =
  'CONNECTION_FAILED' | 'CLIENT_TIMEOUT' | 'SANDBOX_ERROR_STATE' | 'CONFIGURE_FAILED' | 'UNKNOWN';

/** A wire code from `@agenttier/contract`, a client-side code, or a code this SDK version does not know yet. */
export type AgentTierErrorCode = ErrorCode | ClientErrorCode | (string & NonNullable<unknown>);

export interface AgentTierErrorOpts {
  code: AgentTierErrorCode;
  /** HTTP status; 0 when no response arrived. */
  status?: number;
  requestId?: string;
  retryAfterMs?: number;
  details?: FieldIssue[];
  /** The server's own message, without the SDK's advice. */
  serverMessage?: string;
  /** What to do next, already appended to `message`. */
  hint?: string;
  /** The parsed error body, as the server sent it. */
  body?: unknown;
  cause?: unknown;
}

/**
 * Base class of every error the SDK throws on purpose. Switch on `instanceof` or on `code`
 * (codes come from `ERROR_STATUS` in `@agenttier/contract`), never on the message text.
 *
 * @example
 * ```ts
 * try {
 *   await client.getSandbox('demo');
 * } catch (err) {
 *   if (err instanceof NotFoundError) console.log('no such sandbox');
 *   else if (err instanceof AgentTierError) console.log(err.code, err.requestId);
 *   else throw err;
 * }
 * ```
 */
export class AgentTierError extends Error {
  override name = 'AgentTierError';
  readonly code: AgentTierErrorCode;
  /** HTTP status; 0 when the failure happened before a response (connection, timeout, wait). */
  readonly status: number;
  /** The server's `X-Request-ID`, to quote when reporting a problem. */
  readonly requestId: string | undefined;
  /** From `Retry-After` (or a body `retryAfter`), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** Field-level problems of a validation error. */
  readonly details: FieldIssue[];
  readonly serverMessage: string;
  readonly hint: string | undefined;
  readonly body: unknown;

  constructor(message: string, opts: AgentTierErrorOpts) {
    super(opts.hint ? `${message}. ${opts.hint}` : message, { cause: opts.cause });
    this.code = opts.code;
    this.status = opts.status ?? 0;
    this.requestId = opts.requestId;
    this.retryAfterMs = opts.retryAfterMs;
    this.details = opts.details ?? [];
    this.serverMessage = opts.serverMessage ?? message;
    this.hint = opts.hint;
    this.body = opts.body;
  }

  /** True when the same request may succeed after waiting `retryAfterMs` (rate limits, overload). */
  get retryable(): boolean {
    return (RETRYABLE_CODES as readonly string[]).includes(this.code);
  }
}

/**
 * The base of each error class below: an AgentTierError whose `name` is spelled out, since bundlers
 * rename classes (the web UI's build does) and `name` must stay what the docs say.
 */
function named(name: string) {
  return class extends AgentTierError {
    override name = name;
  };
}

/** 400/422: the request was malformed or failed validation; `details` names each field. */
export class ValidationError extends named('ValidationError') {}
/** 401: no credentials, or the server rejected them. */
export class AuthenticationError extends named('AuthenticationError') {}
/** 403 from governance: the request breaks a policy (quota, allowed templates, limits). */
export class PolicyViolationError extends named('PolicyViolationError') {
  /** The individual violations when the server lists them (`violations` or `details`). */
  get violations(): { code?: string; message: string }[] {
    const body = this.body as { violations?: unknown } | undefined;
    if (Array.isArray(body?.violations)) {
      return body.violations.map((v: { code?: unknown; message?: unknown }) => ({
        ...(typeof v.code === 'string' ? { code: v.code } : {}),
        message: typeof v.message === 'string' ? v.message : String(v.message ?? v),
      }));
    }
    return this.details.map((d) => ({ code: d.rule, message: `${d.field}: ${d.message}` }));
  }
}
/** 403: authenticated, but not allowed to do this. */
export class ForbiddenError extends named('ForbiddenError') {}
/** 404: the sandbox, template or file does not exist (or is not visible to you). */
export class NotFoundError extends named('NotFoundError') {}
/** 409: the object is in the wrong state (e.g. exec on a stopped sandbox) or already exists. */
export class ConflictError extends named('ConflictError') {}
/** 413: a file or body is over the server's cap (32 MiB for files). */
export class PayloadTooLargeError extends named('PayloadTooLargeError') {}
/** 424: the sandbox is missing configuration the call needs (e.g. an agent entrypoint). */
export class NotConfiguredError extends named('NotConfiguredError') {}
/** 429: too many requests or concurrent invokes; wait `retryAfterMs` and try again. */
export class RateLimitError extends named('RateLimitError') {}
/**
 * 429 `CONCURRENCY_EXCEEDED`: the sandbox already runs its `maxConcurrentInvokes`. A `RateLimitError`
 * too, so code that retries rate limits retries this after `retryAfterMs`.
 */
export class ConcurrencyError extends RateLimitError {
  override name = 'ConcurrencyError';
  /** The sandbox's limit, when the server said. */
  get limit(): number | undefined {
    const v = (this.body as { limit?: unknown } | undefined)?.limit;
    return typeof v === 'number' ? v : undefined;
  }
  /** Invokes running when the request was refused, when the server said. */
  get inflight(): number | undefined {
    const v = (this.body as { inflight?: unknown } | undefined)?.inflight;
    return typeof v === 'number' ? v : undefined;
  }
}
/**
 * An agent `configure` stream ended with an `error` event (a file could not be written, the install
 * timed out). `phase` says which step failed. A non-zero install exit is a result, not this error.
 */
export class ConfigureError extends named('ConfigureError') {
  /** `files` or `install` (or whatever the server named). */
  readonly phase: string;
  constructor(message: string, opts: AgentTierErrorOpts & { phase: string }) {
    super(message, opts);
    this.phase = opts.phase;
  }
}
/** 5xx: the server failed; quote `requestId` when reporting it. */
export class ServerError extends named('ServerError') {}
/** No HTTP response at all: the server is down, the URL is wrong, or the network failed. */
export class ConnectionError extends named('ConnectionError') {}
/** A request or a wait took longer than allowed. */
export class TimeoutError extends named('TimeoutError') {}
/** A wait found the sandbox in phase `Error`; `message` carries the server's explanation. */
export class SandboxErrorStateError extends named('SandboxErrorStateError') {}

/**
 * Parses `Retry-After` (delay seconds or an HTTP date) into milliseconds; undefined when absent or unparsable.
 * `now` is injectable for tests.
 */
export function parseRetryAfterMs(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP-date always names a weekday/month; this keeps Date.parse from reading "-3" as a year.
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface HttpErrorInput {
  status: number;
  /** Parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  headers?: Headers;
  /** `METHOD path`, used in messages when the body has none. */
  what?: string;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function fieldIssues(value: unknown): FieldIssue[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
    .map((d) => ({
      field: String(d.field ?? ''),
      rule: String(d.rule ?? ''),
      message: String(d.message ?? ''),
    }));
}

/**
 * The one place that turns an HTTP error response into a typed error. Status decides the class
 * (403 splits on `policy_violation`); the wire `code` is kept when the server sent a known one.
 */
export function errorFromResponse(input: HttpErrorInput): AgentTierError {
  const { status, headers } = input;
  const obj =
    typeof input.body === 'object' && input.body !== null ? (input.body as Record<string, unknown>) : {};
  const text = typeof input.body === 'string' ? input.body.trim() : '';
  const rawError = str(obj.error);
  const wireCode = str(obj.code);

  // Seed-compatible bodies put a machine word in `error` ("policy_violation", "rate_limited") and the
  // prose in `message`; ours put prose in both. Prefer prose.
  const looksLikeToken = rawError !== undefined && /^[a-z]+(_[a-z]+)+$/.test(rawError);
  const serverMessage =
    (looksLikeToken ? (str(obj.message) ?? rawError) : (rawError ?? str(obj.message))) ??
    (text !== '' && text.length < 500 ? text : undefined) ??
    `${input.what ?? 'request'} failed with HTTP ${status}`;

  const code: AgentTierErrorCode =
    wireCode !== undefined
      ? wireCode
      : rawError === 'policy_violation'
        ? 'POLICY_VIOLATION'
        : rawError === 'concurrency_exceeded'
          ? 'CONCURRENCY_EXCEEDED'
          : (codeForStatus(status) ?? 'UNKNOWN');

  const bodyRetry = typeof obj.retryAfter === 'number' ? obj.retryAfter * 1000 : undefined;
  const retryAfterMs = parseRetryAfterMs(headers?.get('retry-after')) ?? bodyRetry;
  const requestId = str(obj.requestId) ?? headers?.get('x-request-id') ?? undefined;
  const details = fieldIssues(obj.details);
  const base = { code, status, requestId, retryAfterMs, details, serverMessage, body: input.body };

  const tableHint = isErrorCode(code) ? ERROR_HINTS[code] : undefined;
  if (status === 400 || status === 422) {
    return new ValidationError(serverMessage, { ...base, hint: tableHint ?? ERROR_HINTS.BAD_REQUEST });
  }
  if (status === 401) {
    return new AuthenticationError(serverMessage, {
      ...base,
      hint: 'Pass { apiKey } or { token } to new AgentTier(), or set AGENTTIER_API_KEY / AGENTTIER_TOKEN',
    });
  }
  if (status === 403) {
    if (rawError === 'policy_violation' || code === 'POLICY_VIOLATION') {
      return new PolicyViolationError(serverMessage, {
        ...base,
        code: isErrorCode(code) ? code : 'POLICY_VIOLATION',
        hint: ERROR_HINTS.POLICY_VIOLATION,
      });
    }
    return new ForbiddenError(serverMessage, { ...base, hint: tableHint });
  }
  if (status === 404) return new NotFoundError(serverMessage, base);
  if (status === 409) return new ConflictError(serverMessage, base);
  if (status === 413) {
    return new PayloadTooLargeError(serverMessage, { ...base, hint: ERROR_HINTS.PAYLOAD_TOO_LARGE });
  }
  if (status === 424) return new NotConfiguredError(serverMessage, base);
  if (status === 429) {
    const hint = retryHint(retryAfterMs);
    if (code === 'CONCURRENCY_EXCEEDED') return new ConcurrencyError(serverMessage, { ...base, hint });
    return new RateLimitError(serverMessage, { ...base, hint });
  }
  if (status >= 500) {
    return new ServerError(serverMessage, {
      ...base,
      hint: requestId ? `The server failed; quote request id ${requestId} when reporting it` : undefined,
    });
  }
  return new AgentTierError(serverMessage, base);
}

/** Node's fetch hides the socket error in `cause`; dig out `ECONNREFUSED` and friends. */
export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The error for "no response": says how to get a server. */
export function connectionError(apiUrl: string, cause: unknown): ConnectionError {
  let deepest: unknown = cause;
  while (deepest instanceof Error && deepest.cause instanceof Error) deepest = deepest.cause;
  const reason = networkErrorCode(cause) ?? (deepest instanceof Error ? deepest.message : String(cause));
  return new ConnectionError(`cannot reach the AgentTier API at ${apiUrl} (${reason})`, {
    code: 'CONNECTION_FAILED',
    hint: 'Start it with `agenttier up`, or set AGENTTIER_API_URL (or the apiUrl option) to a running server',
    cause,
  });
}
