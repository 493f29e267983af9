import { ERROR_STATUS, codeForStatus } from '@agenttier/contract';
import { describe, expect, it } from 'vitest';
import {
  AgentTierError,
  AuthenticationError,
  ConcurrencyError,
  ConflictError,
  ForbiddenError,
  NotConfiguredError,
  NotFoundError,
  PayloadTooLargeError,
  PolicyViolationError,
  RateLimitError,
  ServerError,
  ValidationError,
  errorFromResponse,
  parseRetryAfterMs,
} from './errors.ts';
import * as errors from './errors.ts';

describe('errorFromResponse', () => {
  it('maps 429 CONCURRENCY_EXCEEDED to ConcurrencyError with the limit and Retry-After', () => {
    const err = errorFromResponse({
      status: 429,
      body: {
        error: 'concurrency_exceeded',
        message: 'sandbox x already has 3 concurrent invokes (max 3)',
        limit: 3,
        inflight: 3,
      },
      headers: new Headers({ 'retry-after': '5' }),
    });
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({
      code: 'CONCURRENCY_EXCEEDED',
      retryAfterMs: 5000,
      limit: 3,
      inflight: 3,
      retryable: true,
    });
    expect(err.serverMessage).toBe('sandbox x already has 3 concurrent invokes (max 3)');
    const plain = errorFromResponse({ status: 429, body: { error: 'rate_limited', message: 'slow down' } });
    expect(plain).not.toBeInstanceOf(ConcurrencyError);
    expect(plain.code).toBe('RATE_LIMITED');
  });

  it.each([
    [400, ValidationError],
    [422, ValidationError],
    [401, AuthenticationError],
    [403, ForbiddenError],
    [404, NotFoundError],
    [409, ConflictError],
    [413, PayloadTooLargeError],
    [424, NotConfiguredError],
    [429, RateLimitError],
    [500, ServerError],
    [502, ServerError],
    [503, ServerError],
    [418, AgentTierError],
  ])('maps HTTP %i to %s', (status, cls) => {
    const err = errorFromResponse({ status, body: { error: 'boom' } });
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(AgentTierError);
    expect(err.status).toBe(status);
  });

  it('maps every contract code to a class by its status', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      const err = errorFromResponse({ status, body: { error: 'x', code, message: 'x' } });
      expect(err.code).toBe(code);
      if (status === 404) expect(err).toBeInstanceOf(NotFoundError);
      if (status === 409) expect(err).toBeInstanceOf(ConflictError);
      if (code === 'POLICY_VIOLATION') expect(err).toBeInstanceOf(PolicyViolationError);
      if (code === 'FORBIDDEN') expect(err).toBeInstanceOf(ForbiddenError);
    }
  });

  it("reports the contract's code for a status when the body has none (as the server does)", () => {
    for (const status of [400, 403, 404, 409, 413, 429, 500, 502, 503]) {
      expect(errorFromResponse({ status, body: { error: 'x' } }).code).toBe(codeForStatus(status));
    }
  });

  it('keeps the wire code, request id, details and server message', () => {
    const err = errorFromResponse({
      status: 400,
      body: {
        error: 'invalid sandbox: name is required',
        code: 'VALIDATION_FAILED',
        message: 'invalid sandbox: name is required',
        requestId: 'abc123',
        details: [{ field: 'name', rule: 'too_small', message: 'is required' }],
      },
    });
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.requestId).toBe('abc123');
    expect(err.details).toEqual([{ field: 'name', rule: 'too_small', message: 'is required' }]);
    expect(err.serverMessage).toBe('invalid sandbox: name is required');
    expect(err.message).toMatch(/^invalid sandbox: name is required\. /);
  });

  it('recognises the seed product policy_violation body and its violations', () => {
    const err = errorFromResponse({
      status: 403,
      body: {
        error: 'policy_violation',
        violations: [{ code: 'maxSandboxes', message: 'too many sandboxes' }],
      },
    });
    expect(err).toBeInstanceOf(PolicyViolationError);
    expect(err.code).toBe('POLICY_VIOLATION');
    expect((err as PolicyViolationError).violations).toEqual([
      { code: 'maxSandboxes', message: 'too many sandboxes' },
    ]);
  });

  it('prefers prose over machine words in error', () => {
    const err = errorFromResponse({
      status: 429,
      body: { error: 'rate_limited', retryAfter: 3, message: 'too many requests; retry after 3 seconds' },
    });
    expect(err.serverMessage).toBe('too many requests; retry after 3 seconds');
    expect(err.retryAfterMs).toBe(3000);
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryable).toBe(true);
  });

  it('reads Retry-After and X-Request-ID headers', () => {
    const headers = new Headers({ 'Retry-After': '5', 'X-Request-ID': 'rid' });
    const err = errorFromResponse({ status: 429, body: { error: 'concurrency_exceeded' }, headers });
    expect(err.retryAfterMs).toBe(5000);
    expect(err.requestId).toBe('rid');
    expect(err.code).toBe('CONCURRENCY_EXCEEDED');
    expect(err.message).toContain('Retry in 5s');
  });

  it('uses text bodies and falls back to a generic message', () => {
    expect(errorFromResponse({ status: 502, body: 'bad gateway' }).serverMessage).toBe('bad gateway');
    expect(errorFromResponse({ status: 500, body: undefined, what: 'GET /x' }).serverMessage).toBe(
      'GET /x failed with HTTP 500',
    );
  });

  it('tells the user how to authenticate', () => {
    expect(errorFromResponse({ status: 401, body: { error: 'invalid_api_key' } }).message).toContain(
      'AGENTTIER_API_KEY',
    );
  });
});

describe('parseRetryAfterMs', () => {
  it('parses seconds and HTTP dates', () => {
    expect(parseRetryAfterMs('0')).toBe(0);
    expect(parseRetryAfterMs('12')).toBe(12_000);
    expect(parseRetryAfterMs('1.5')).toBe(1500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });

  it('returns undefined for missing or garbage values', () => {
    expect(parseRetryAfterMs(null)).toBeUndefined();
    expect(parseRetryAfterMs('')).toBeUndefined();
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(parseRetryAfterMs('-3')).toBeUndefined();
  });
});

describe('error classes', () => {
  it('each has its own name as `name`, spelled out (bundlers rename classes), and is an AgentTierError', () => {
    const classes = Object.entries(errors).filter(
      (entry): entry is [string, typeof AgentTierError] =>
        typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
    );
    expect(classes.length).toBeGreaterThan(15);
    for (const [exported, ErrorClass] of classes) {
      const err = new ErrorClass('m', { code: 'UNKNOWN', phase: 'files' } as never);
      expect(err.name, exported).toBe(exported);
      expect(err).toBeInstanceOf(AgentTierError);
    }
    expect(new ConcurrencyError('m', { code: 'CONCURRENCY_EXCEEDED' })).toBeInstanceOf(RateLimitError);
  });
});
