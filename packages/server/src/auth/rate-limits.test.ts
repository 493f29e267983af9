/**
 * Per-identity rate limits of create, exec and invoke: a user past the burst gets 429 RATE_LIMITED
 * with Retry-After in the one error shape, other users and other classes are untouched, admins are
 * exempt (or get the multiplier), the buckets refill, and memory stays bounded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthTestApp } from '../testing/auth-app.ts';
import { startAuthTestApp } from '../testing/auth-app.ts';
import { expectRateLimited } from '../testing/rate-limited.ts';
import type { Identity } from '../context.ts';
import { createIdentityRateLimiter, rateLimitsFromEnv, DEFAULT_IDENTITY_RATE_LIMITS } from './rate-limits.ts';

let t: AuthTestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const user = (sub: string, isAdmin = false): Identity => ({ sub, groups: [], isAdmin });

describe('per-identity rate limits through the app', () => {
  it('exec past the burst is 429 with Retry-After; another user and another class are unaffected', async () => {
    t = await startAuthTestApp({
      rateLimits: {
        exec: { perSecond: 0.01, burst: 3 },
        invoke: { perSecond: 0.01, burst: 1 },
        create: { perSecond: 0.01, burst: 2 },
      },
    });
    const alice = (await t.issue('alice')).key;
    const bob = (await t.issue('bob')).key;
    const admin = (await t.issue('root', true)).key;
    for (const [key, name] of [
      [alice, 'a1'],
      [bob, 'b1'],
    ] as const) {
      const r = await t.call(key, 'POST', '/api/v1/sandboxes', { name, template: 'general-coding' });
      expect(r.statusCode, r.body).toBe(201);
    }
    const exec = (key: string, box: string) =>
      t!.call(key, 'POST', `/api/v1/sandboxes/${box}/exec`, { command: 'true' });
    for (let i = 0; i < 3; i++) expect((await exec(alice, 'a1')).statusCode).toBe(409); // past the limit, not running
    const limited = await exec(alice, 'a1');
    expectRateLimited(limited);
    expect(limited.json().message).toContain('exec');
    // Streaming exec and background processes spend the same bucket.
    expect(
      (await t.call(alice, 'POST', '/api/v1/sandboxes/a1/exec/stream', { command: 'true' })).statusCode,
    ).toBe(429);
    expect(
      (await t.call(alice, 'POST', '/api/v1/sandboxes/a1/processes', { command: 'true' })).statusCode,
    ).toBe(429);
    // Reading is not limited; bob has his own bucket.
    expect((await t.call(alice, 'GET', '/api/v1/sandboxes/a1')).statusCode).toBe(200);
    expect((await exec(bob, 'b1')).statusCode).toBe(409);
    // Invoke is its own class (409/400 after the check: agent mode is off in this sandbox).
    expect((await t.call(alice, 'POST', '/api/v1/sandboxes/a1/invoke', { prompt: 'x' })).statusCode).not.toBe(
      429,
    );
    expect((await t.call(alice, 'POST', '/api/v1/sandboxes/a1/invoke', { prompt: 'x' })).statusCode).toBe(
      429,
    );
    // Create: the second fits the burst of 2, the third is limited.
    expect(
      (await t.call(alice, 'POST', '/api/v1/sandboxes', { name: 'a2', template: 'general-coding' }))
        .statusCode,
    ).toBe(201);
    const third = await t.call(alice, 'POST', '/api/v1/sandboxes', {
      name: 'a3',
      template: 'general-coding',
    });
    expect([third.statusCode, third.json().code]).toEqual([429, 'RATE_LIMITED']);
    // Admins are exempt by default.
    for (let i = 0; i < 10; i++) expect((await exec(admin, 'a1')).statusCode).toBe(409);
  });

  it('a refused call (stranger, scoped key out of scope) spends no token', async () => {
    t = await startAuthTestApp({ rateLimits: { exec: { perSecond: 0.01, burst: 1 } } });
    const alice = (await t.issue('alice')).key;
    const mallory = (await t.issue('mallory')).key;
    await t.call(alice, 'POST', '/api/v1/sandboxes', { name: 'a1', template: 'general-coding' });
    await t.call(mallory, 'POST', '/api/v1/sandboxes', { name: 'm1', template: 'general-coding' });
    for (let i = 0; i < 5; i++)
      expect((await t.call(mallory, 'POST', '/api/v1/sandboxes/a1/exec', { command: 'x' })).statusCode).toBe(
        404,
      );
    expect((await t.call(mallory, 'POST', '/api/v1/sandboxes/m1/exec', { command: 'x' })).statusCode).toBe(
      409,
    );
  });
});

describe('the limiter', () => {
  it('refills at its rate; admins get the multiplier; identities are bounded', () => {
    let now = 0;
    const limiter = createIdentityRateLimiter({
      exec: { perSecond: 2, burst: 2 },
      adminMultiplier: 3,
      maxTrackedIdentities: 100,
      nowMs: () => now,
    });
    const a = user('a');
    limiter.take('exec', a);
    limiter.take('exec', a);
    expect(() => limiter.take('exec', a)).toThrow(/retry in 1s/);
    now += 500; // one token back at 2 per second
    limiter.take('exec', a);
    expect(() => limiter.take('exec', a)).toThrow();
    const root = user('root', true);
    for (let i = 0; i < 6; i++) limiter.take('exec', root);
    expect(() => limiter.take('exec', root)).toThrow(/at most 6 per second/);
    // Create and invoke are not configured here: unlimited.
    for (let i = 0; i < 50; i++) limiter.take('create', a);
    // A spray of identities is bounded: the first is forgotten (full bucket again).
    for (let i = 0; i < 500; i++) limiter.take('exec', user(`u${i}`));
    limiter.take('exec', a); // had no token left before the spray
  });

  it('reads its settings from the environment and refuses nonsense', () => {
    expect(rateLimitsFromEnv({})).toEqual(DEFAULT_IDENTITY_RATE_LIMITS);
    expect(
      rateLimitsFromEnv({
        AGENTTIER_RATE_LIMIT_EXEC: '5/50',
        AGENTTIER_RATE_LIMIT_CREATE: 'off',
        AGENTTIER_RATE_LIMIT_ADMIN_MULTIPLIER: '10',
      }),
    ).toEqual({
      exec: { perSecond: 5, burst: 50 },
      invoke: DEFAULT_IDENTITY_RATE_LIMITS.invoke,
      perAddress: DEFAULT_IDENTITY_RATE_LIMITS.perAddress,
      adminMultiplier: 10,
    });
    for (const bad of ['5', '5/0', '-1/3', 'fast', '1/2/3'])
      expect(() => rateLimitsFromEnv({ AGENTTIER_RATE_LIMIT_EXEC: bad }), bad).toThrow(/RATE\/BURST/);
    expect(() => rateLimitsFromEnv({ AGENTTIER_RATE_LIMIT_ADMIN_MULTIPLIER: '-2' })).toThrow();
  });
});
