import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { toPlatformError, withRetry } from './api-errors.ts';

const apiError = (code: number, body: object, headers: Record<string, string> = {}) =>
  new ApiException(code, 'failed', JSON.stringify(body), headers);

describe('API server errors as contract errors', () => {
  it.each([
    [404, { reason: 'NotFound' }, 'NOT_FOUND'],
    [409, { reason: 'AlreadyExists' }, 'ALREADY_EXISTS'],
    [409, { reason: 'Conflict' }, 'CONFLICT'],
    [400, { reason: 'BadRequest' }, 'BAD_REQUEST'],
    [403, { reason: 'Forbidden', message: 'namespace is being terminated' }, 'FORBIDDEN'],
    [429, { reason: 'TooManyRequests' }, 'UNAVAILABLE'],
    [500, { reason: 'InternalError' }, 'UNAVAILABLE'],
    [503, { reason: 'ServiceUnavailable' }, 'UNAVAILABLE'],
    [415, { reason: 'UnsupportedMediaType' }, 'INTERNAL'],
  ])('%i %o → %s', (code, body, expected) => {
    expect(toPlatformError(apiError(code, body), 'sandbox "a"').code).toBe(expected);
  });

  it('keeps 422 causes as field issues', () => {
    const err = toPlatformError(
      apiError(422, {
        reason: 'Invalid',
        message: 'Sandbox "x" is invalid',
        details: {
          causes: [{ reason: 'FieldValueInvalid', field: 'spec.timeout', message: 'Invalid value: "soon"' }],
        },
      }),
      'sandbox "x"',
    );
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.details).toEqual([
      { field: 'spec.timeout', rule: 'FieldValueInvalid', message: 'Invalid value: "soon"' },
    ]);
  });

  it('passes Retry-After of a 429 on', () => {
    expect(toPlatformError(apiError(429, {}, { 'retry-after': '3' }), 'x').headers).toEqual({
      'retry-after': '3',
    });
  });

  it('retries 429 always and 5xx only for idempotent requests', async () => {
    let calls = 0;
    const flaky = (code: number) => async () => {
      if (++calls < 3) throw apiError(code, {}, { 'retry-after': '0' });
      return 'ok';
    };
    await expect(withRetry(flaky(429), { idempotent: false, baseDelayMs: 1 })).resolves.toBe('ok');
    calls = 0;
    await expect(withRetry(flaky(500), { idempotent: true, baseDelayMs: 1 })).resolves.toBe('ok');
    calls = 0;
    await expect(withRetry(flaky(500), { idempotent: false, baseDelayMs: 1 })).rejects.toMatchObject({
      code: 500,
    });
  });
});
