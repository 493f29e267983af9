import type { ErrorCode, FieldIssue } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';

/** A Kubernetes `Status` body as the API server sends it with every error. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
  };
}

/** HTTP status of a client-node error (ApiException.code, or a watch error's statusCode). */
export function statusOf(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** The parsed Status body (client-node hands it over as raw text). */
export function kubeStatusOf(err: unknown): KubeStatus | undefined {
  const body = (err as { body?: unknown } | undefined)?.body;
  if (body && typeof body === 'object') return body as KubeStatus;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    return JSON.parse(body) as KubeStatus;
  } catch {
    return { message: body };
  }
}

export const isNotFound = (err: unknown) => statusOf(err) === 404;
export const isConflict = (err: unknown) => statusOf(err) === 409;
export const isAlreadyExists = (err: unknown) =>
  statusOf(err) === 409 && kubeStatusOf(err)?.reason === 'AlreadyExists';

/** Transient: the same request may succeed if sent again later. */
export function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  if (status === undefined) return isNetworkError(err);
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code =
    (err as { code?: unknown; cause?: { code?: unknown } }).cause?.code ?? (err as { code?: unknown }).code;
  return (
    err.name === 'TypeError' ||
    err.name === 'AbortError' ||
    err.name === 'TimeoutError' ||
    (typeof code === 'string' && /^(ECONN|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR)/.test(code))
  );
}

/** Seconds from a Retry-After header, if the server sent one. */
export function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string> } | undefined)?.headers;
  const v = headers?.['retry-after'] ?? headers?.['Retry-After'];
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n * 1000 : undefined;
}

/** Turns a 422 Status's causes into the contract's field issues (`spec.timeout` → `spec.timeout`). */
function fieldIssues(status: KubeStatus | undefined): FieldIssue[] | undefined {
  const causes = status?.details?.causes;
  if (!causes?.length) return undefined;
  return causes.map((c) => ({
    field: c.field ?? '(body)',
    rule: c.reason ?? 'Invalid',
    message: c.message ?? '',
  }));
}

/**
 * Maps an API server error onto the contract's codes, so the router answers a Kubernetes conflict the
 * same way it answers a SQLite one. `what` names the object for messages ("sandbox \"a\"").
 */
export function toPlatformError(err: unknown, what: string): PlatformError {
  if (err instanceof PlatformError) return err;
  const status = statusOf(err);
  const body = kubeStatusOf(err);
  const serverMessage = body?.message ?? (err instanceof Error ? err.message : String(err));
  const make = (
    code: ErrorCode,
    message: string,
    extra: { details?: FieldIssue[]; headers?: Record<string, string> } = {},
  ) => new PlatformError(code, message, { cause: err, ...extra });
  switch (status) {
    case 400:
      return make('BAD_REQUEST', `the API server rejected ${what}: ${serverMessage}`);
    case 401:
      return make('UNAVAILABLE', `the API server did not accept our credentials (${serverMessage})`);
    case 403:
      return make('FORBIDDEN', `the API server refused the request for ${what}: ${serverMessage}`);
    case 404:
      return make('NOT_FOUND', `${what} not found`);
    case 409:
      if (body?.reason === 'AlreadyExists') return make('ALREADY_EXISTS', `${what} already exists`);
      return make('CONFLICT', `the object has been modified (${what}); read it again and retry`);
    case 410:
      return make('CONFLICT', `${what}: ${serverMessage}`);
    case 422: {
      const details = fieldIssues(body);
      return make('VALIDATION_FAILED', `invalid ${what}: ${serverMessage}`, details ? { details } : {});
    }
    case 429: {
      const after = retryAfterMs(err);
      return make(
        'UNAVAILABLE',
        `the API server is throttling requests; retry shortly`,
        after ? { headers: { 'retry-after': String(Math.ceil(after / 1000)) } } : {},
      );
    }
    default:
      if (isTransient(err))
        return make('UNAVAILABLE', `the API server is unavailable (${serverMessage}); retry shortly`);
      return make(
        'INTERNAL',
        `unexpected API server response for ${what}: ${status ?? ''} ${serverMessage}`.trim(),
      );
  }
}

export interface RetryOpts {
  /** Attempts in all. @default 4 */
  attempts?: number;
  /** First pause; doubles each time, capped at 2 s unless Retry-After says more. @default 100 */
  baseDelayMs?: number;
  /** Retry 5xx and network errors too (reads and other requests that are safe to repeat). */
  idempotent: boolean;
}

/**
 * Retries throttled (429, always safe: the request was not processed) and, for idempotent requests,
 * transient failures. Everything else is returned to the caller at once.
 */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOpts): Promise<T> {
  const attempts = opts.attempts ?? 4;
  let delay = opts.baseDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const retryable = statusOf(err) === 429 || (opts.idempotent && isTransient(err));
      if (!retryable || attempt >= attempts) throw err;
      const wait = Math.min(retryAfterMs(err) ?? delay, 5000);
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
