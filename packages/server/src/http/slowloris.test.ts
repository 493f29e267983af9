/**
 * Router under abuse: thousands of half-sent requests (slowloris) from another process. Before the
 * connection guard, ~20,000 of them exhausted the router's descriptors. Now the router's descriptors
 * stay bounded by maxConnections, /healthz and real API calls answer during the attack and after it,
 * and half-open connections are evicted to make room (not left for headersTimeout to reap).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { SqliteStore } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';

const MAX_CONNECTIONS = 300;
const ATTACK_CONNECTIONS = 3000;

let store: SqliteStore;
let app: FastifyInstance;
let base: string;
let attacker: ChildProcess | undefined;
let report = { open: 0, opened: 0, closedByServer: 0 };

const descriptors = () => readdirSync('/proc/self/fd').length;

beforeEach(async () => {
  store = await seededStore();
  app = createBareApp(store, {
    // headersTimeout stays at its default (10 s): what holds the line here is eviction, not the timeout.
    http: { maxConnections: MAX_CONNECTIONS },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  attacker?.kill('SIGKILL');
  attacker = undefined;
  app.server.closeAllConnections();
  await app.close();
  await store.close();
});

/** A request on a fresh connection (no keep-alive pool to hide behind). */
async function call(path: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(`${base}${path}`, { ...init, headers: { ...init.headers, connection: 'close' } });
  await res.arrayBuffer();
  return res.status;
}

it('keeps answering /healthz and the API under thousands of half-open requests, with bounded descriptors', async () => {
  const baseline = descriptors();
  const port = new URL(base).port;
  attacker = fork(
    new URL('../testing/slowloris-client.ts', import.meta.url).pathname,
    [port, String(ATTACK_CONNECTIONS)],
    {
      stdio: 'ignore',
    },
  );
  attacker.on('message', (m) => (report = m as typeof report));
  // The attack is on: more connections opened than the router may hold, many of them evicted.
  await eventually(
    () => (report.opened >= ATTACK_CONNECTIONS ? true : undefined),
    'the attacker to open its connections',
    60_000,
  );

  let peak = 0;
  for (let i = 0; i < 20; i++) {
    peak = Math.max(peak, descriptors());
    expect(await call('/healthz')).toBe(200);
    expect(await call('/api/v1/sandboxes')).toBe(200);
  }
  const created = await call('/api/v1/sandboxes', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'under-attack', template: 'minimal-shell' }),
  });
  expect(created).toBe(201);
  peak = Math.max(peak, descriptors());
  // The router's descriptors: bounded by its connection cap (plus what the test itself holds).
  expect(peak - baseline).toBeLessThanOrEqual(MAX_CONNECTIONS + 50);
  expect(report.closedByServer).toBeGreaterThan(0);

  attacker.send('stop');
  await eventually(
    () => (descriptors() <= baseline + 20 ? true : undefined),
    'the attack connections to close',
    30_000,
  );
  expect(await call('/healthz')).toBe(200);
  expect(await call('/api/v1/sandboxes/under-attack')).toBe(200);
}, 120_000);
