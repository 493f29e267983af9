/**
 * Per-client concurrency cap on expensive routes: one client cannot hold every exec slot the router
 * has. The data plane's exec blocks until released, so requests pile up the way slow execs would.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Sandbox } from '@agenttier/contract';
import type { DataPlane, ExecOutcome } from '@agenttier/core';
import type { SqliteStore } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import { createApp } from '../app.ts';
import { seededStore } from '../testing/seeded-store.ts';

const CAP = 4;
let store: SqliteStore;
let app: FastifyInstance;
let started = 0;
let release: () => void = () => undefined;
let gate: Promise<void>;

beforeEach(async () => {
  store = await seededStore();
  gate = new Promise((r) => (release = r));
  started = 0;
  const plane = {
    kind: 'engine',
    exec: async (): Promise<ExecOutcome> => {
      started++;
      await gate;
      return { stdout: 'ok\n', stderr: '', exitCode: 0, durationMs: 1, timedOut: false, truncated: false };
    },
  } as unknown as DataPlane;
  app = createApp({
    store,
    dataPlaneFor: async () => plane,
    logger: pino({ level: 'silent' }),
    http: { maxConcurrentPerClient: CAP },
  });
  await app.ready();
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes',
    payload: { name: 'box', template: 'minimal-shell' },
  });
  expect(created.statusCode, created.body).toBe(201);
  const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'box' }))!;
  await store.updateStatus<Sandbox>({ ...sb, status: { ...sb.status, phase: 'Running', reason: 'Ready' } });
});

afterEach(async () => {
  release();
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
  await eventually(() => (started === CAP ? true : undefined), 'the capped execs to start');
  const over = await exec();
  expect(over.statusCode, over.body).toBe(429);
  expect(over.json()).toMatchObject({ code: 'RATE_LIMITED' });
  expect(over.headers['retry-after']).toBe('1');
  // Another loopback address is the same client (see client-key.test.ts for other callers).
  expect((await exec('127.0.0.9')).statusCode).toBe(429);
  release();
  for (const r of await Promise.all(held)) expect(r.statusCode).toBe(200);
  expect((await exec()).statusCode).toBe(200);
});
