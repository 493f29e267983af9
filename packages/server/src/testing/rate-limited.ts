import { expect } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';

/**
 * Checks a refusal by a rate limit: 429 RATE_LIMITED in the one error shape plus `retryAfter`, and a
 * Retry-After header of at least a second.
 */
export function expectRateLimited(res: LightMyRequestResponse): void {
  expect([res.statusCode, res.json().code]).toEqual([429, 'RATE_LIMITED']);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(Object.keys(res.json()).sort()).toEqual(['code', 'error', 'message', 'requestId', 'retryAfter']);
}
