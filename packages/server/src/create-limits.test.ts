import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Sandbox } from '@agenttier/contract';
import type { SqliteStore } from '@agenttier/platform-local';
import type { CreateLimitOpts } from './create-limits.ts';
import { CreateLimiter, TokenBuckets } from './create-limits.ts';
import { seededStore } from './testing/seeded-store.ts';
import { createBareApp } from './testing/bare-app.ts';

describe('TokenBuckets', () => {
  it('allows a burst, then one take per refill interval, and says how long to wait', () => {
    let now = 0;
    const b = new TokenBuckets(2, 3, { nowMs: () => now });
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0]);
    expect(b.take('a')).toBe(500);
    now += 499;
    expect(b.take('a')).toBeGreaterThan(0);
    now += 1;
    expect(b.take('a')).toBe(0);
    // another caller has its own bucket
    expect(b.take('b')).toBe(0);
  });

  it('refills to the burst and no further after a long pause', () => {
    let now = 0;
    const b = new TokenBuckets(1, 2, { nowMs: () => now });
    b.take('a');
    b.take('a');
    now += 3_600_000;
    expect([b.take('a'), b.take('a')]).toEqual([0, 0]);
    expect(b.take('a')).toBeGreaterThan(0);
  });

  it('remembers at most maxKeys callers however many it sees', () => {
    const b = new TokenBuckets(1, 1, { maxKeys: 100, nowMs: () => 0 });
    for (let i = 0; i < 10_000; i++) b.take(`caller-${i}`);
    expect(b.trackedKeys).toBe(100);
    // the most recent callers are the ones remembered: their bucket is empty
    expect(b.take('caller-9999')).toBeGreaterThan(0);
  });
});

describe('CreateLimiter cap', () => {
  it('holds under concurrent creates against a store that answers slowly', async () => {
    const limiter = new CreateLimiter({ maxSandboxes: 3, createsPerSecond: 0, createBurst: 0 });
    const made: number[] = [];
    const tick = () => new Promise((r) => setImmediate(r)); // a store call answers in a later turn
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        limiter.withinCap(
          async () => {
            await tick();
            return made.length;
          },
          async () => {
            await tick();
            made.push(i);
          },
        ),
      ),
    );
    expect(made).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(17);
  });
});

describe('create limits on the REST API', () => {
  let store: SqliteStore | undefined;
  let app: FastifyInstance | undefined;

  afterEach(async () => {
    await app?.close();
    await store?.close();
  });

  async function start(createLimits: CreateLimitOpts): Promise<FastifyInstance> {
    store = await seededStore();
    app = createBareApp(store, {
      createLimits,
    });
    await app.ready();
    return app;
  }

  const createReq = (a: FastifyInstance, name: string) =>
    a.inject({
      method: 'POST',
      url: '/api/v1/sandboxes',
      payload: { name, templateRef: { name: 'minimal-shell' } },
    });

  it('answers a flood of creates with 429 RATE_LIMITED and Retry-After beyond the burst', async () => {
    const a = await start({ maxSandboxes: 0, createsPerSecond: 1, createBurst: 5 });
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => createReq(a, `flood-${i}`)));
    const accepted = answers.filter((r) => r.statusCode === 201);
    const limited = answers.filter((r) => r.statusCode === 429);
    // The clock runs during the test, so a token may refill: 5 from the burst, at most a few more.
    expect(accepted.length).toBeGreaterThanOrEqual(5);
    expect(accepted.length).toBeLessThan(10);
    expect(accepted.length + limited.length).toBe(60);
    for (const r of limited) {
      expect(r.json()).toMatchObject({ code: 'RATE_LIMITED', requestId: r.headers['x-request-id'] });
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect((await store!.list<Sandbox>('Sandbox')).length).toBe(accepted.length);
  });

  it('refuses creates past the cap with 403 QUOTA_EXCEEDED, also when they arrive together', async () => {
    const a = await start({ maxSandboxes: 3, createsPerSecond: 0, createBurst: 0 });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => createReq(a, `cap-${i}`)));
    expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(3);
    const refused = answers.filter((r) => r.statusCode !== 201);
    expect(refused).toHaveLength(17);
    for (const r of refused) {
      expect(r.statusCode).toBe(403);
      expect(r.json()).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 3 });
      expect(r.json().message).toMatch(/limit 3.*--max-sandboxes/);
    }
    expect((await store!.list<Sandbox>('Sandbox')).length).toBe(3);

    // Deleting one makes room for exactly one more.
    const del = await a.inject({ method: 'DELETE', url: '/api/v1/sandboxes/cap-0' });
    expect(del.statusCode).toBe(204);
    // A sandbox with a finalizer stays (Deleting) until the controller lets it go; drop it as it would.
    const left = await store!.get<Sandbox>('Sandbox', { namespace: 'default', name: 'cap-0' });
    if (left) await store!.update<Sandbox>({ ...left, metadata: { ...left.metadata, finalizers: [] } });
    expect((await createReq(a, 'after-delete')).statusCode).toBe(201);
    expect((await createReq(a, 'one-too-many')).statusCode).toBe(403);
  });
});
