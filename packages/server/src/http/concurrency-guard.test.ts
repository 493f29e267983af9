/**
 * Per-client concurrency cap on expensive routes: one client cannot hold every exec slot the router
 * has. The data plane's exec blocks until released, so requests pile up the way slow execs would.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { SqliteStore } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import { createApp } from '../app.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { gatedDataPlane } from '../testing/gated-data-plane.ts';
import type { GatedDataPlane } from '../testing/gated-data-plane.ts';

const CAP = 4;
let store: SqliteStore;
let app: FastifyInstance;
let gated: GatedDataPlane;

beforeEach(async () => {
  store = await seededStore();
  gated = gatedDataPlane();
  app = createApp({
    store,
    dataPlaneFor: async () => gated.plane,
    logger: pino({ level: 'silent' }),
    http: { maxConcurrentPerClient: CAP },
  });
  await app.ready();
  await createRunningSandbox(app, store, { name: 'box', template: 'minimal-shell' });
});

afterEach(async () => {
  gated.release();
  await app.close();
  await store.close();
});

const exec = (remoteAddress = '127.0.0.1') =>
  app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes/box/exec',
    remoteAddress,
    payload: { command: ['true'] },
  });

it('refuses a client’s exec beyond its cap with 429 RATE_LIMITED and Retry-After, and frees slots as calls end', async () => {
  const held = Array.from({ length: CAP }, () => exec());
  await eventually(() => (gated.started === CAP ? true : undefined), 'the capped execs to start');
  const over = await exec();
  expect(over.statusCode, over.body).toBe(429);
  expect(over.json()).toMatchObject({ code: 'RATE_LIMITED' });
  expect(over.headers['retry-after']).toBe('1');
  // Another loopback address is the same client (see client-key.test.ts for other callers).
  expect((await exec('127.0.0.9')).statusCode).toBe(429);
  gated.release();
  for (const r of await Promise.all(held)) expect(r.statusCode).toBe(200);
  expect((await exec()).statusCode).toBe(200);
});
