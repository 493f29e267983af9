/**
 * Per-client limits count per identity, else per address with loopback folded into one client and
 * IPv6 into its /64: a local attacker rotating 127.0.0.0/8 (or a /64) gets no extra share of the
 * concurrency cap, and no fresh failed-authentication budget.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { SqliteStore } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import { createApp } from '../app.ts';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { addressKey, clientKey } from './client-key.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { gatedDataPlane } from '../testing/gated-data-plane.ts';
import type { GatedDataPlane } from '../testing/gated-data-plane.ts';
import { insertApiKey } from '../testing/api-key.ts';

describe('addressKey', () => {
  it('folds loopback into one key and IPv6 into its /64', () => {
    for (const a of [
      '127.0.0.1',
      '127.9.8.7',
      '127.255.255.254',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.2',
    ])
      expect(addressKey(a), a).toBe('loopback');
    expect(addressKey('10.0.0.5')).toBe('10.0.0.5');
    expect(addressKey('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey(undefined)).toBe('unknown');
    expect(clientKey({ sub: 'alice' }, '127.0.0.1')).toBe('id:alice');
    expect(clientKey(null, '127.0.0.7')).toBe('addr:loopback');
  });
});

const CAP = 4;
let store: SqliteStore;
let keys: SqliteApiKeyStore;
let app: FastifyInstance;
let gated: GatedDataPlane;
const key: Record<string, string> = {};

beforeEach(async () => {
  store = await seededStore();
  keys = new SqliteApiKeyStore(':memory:');
  for (const [id, isAdmin] of [
    ['alice', true],
    ['bob', true],
  ] as const) {
    key[id] = (await insertApiKey(keys, id, { isAdmin })).key;
  }
  gated = gatedDataPlane();
  app = createApp({
    store,
    dataPlaneFor: async () => gated.plane,
    logger: pino({ level: 'silent' }),
    apiKeys: keys,
    keyAuth: { failureBurst: 10, failuresPerSecond: 0.001 },
    http: { maxConcurrentPerClient: CAP },
  });
  await app.ready();
  await createRunningSandbox(app, store, {
    name: 'box',
    template: 'minimal-shell',
    headers: { 'x-api-key': key.alice! },
  });
});

afterEach(async () => {
  gated.release();
  await app.close();
  await store.close();
  keys.close();
});

const exec = (who: string | undefined, remoteAddress: string) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes/box/exec',
    remoteAddress,
    headers: who ? { 'x-api-key': key[who] ?? who } : {},
    payload: { command: ['true'] },
  });

it('a caller rotating loopback addresses gets no more than its cap; another caller is unaffected', async () => {
  const held = Array.from({ length: CAP }, (_, i) => exec('alice', `127.0.0.${i + 1}`));
  await eventually(() => (gated.started === CAP ? true : undefined), 'the capped execs to start');
  for (const addr of ['127.0.0.1', '127.0.0.200', '127.44.3.2', '::1', '::ffff:127.0.0.9']) {
    const over = await exec('alice', addr);
    expect(over.statusCode, addr).toBe(429);
    expect(over.json()).toMatchObject({ code: 'RATE_LIMITED' });
  }
  const other = exec('bob', '127.0.0.1');
  await eventually(() => (gated.started === CAP + 1 ? true : undefined), 'the other caller’s exec to start');
  gated.release();
  for (const r of await Promise.all([...held, other])) expect(r.statusCode).toBe(200);
});

it('failed authentications from rotating loopback addresses share one lockout', async () => {
  for (let i = 0; i < 10; i++) expect((await exec('atk_wrong', `127.0.${i}.1`)).statusCode).toBe(401);
  // A fresh loopback address, even with the right key, is still the locked-out client.
  const locked = await exec('alice', '127.99.0.1');
  expect(locked.statusCode).toBe(429);
  expect(locked.headers['retry-after']).toBeDefined();
  // Another machine is not.
  gated.release();
  expect((await exec('bob', '10.0.0.7')).statusCode).toBe(200);
});
