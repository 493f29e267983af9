/**
 * The browser guards on a listening router (real sockets, SQLite in memory): Host allow-list, Origin
 * on state-changing requests and WebSocket upgrades, simple content types, and CORS for configured
 * origins only. Each attack is tried the way a hostile page or a rebinding name would send it.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { SqliteStore } from '@agenttier/platform-local';
import { requestWithHost } from '../testing/host-request.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';

let store: SqliteStore;
let app: FastifyInstance;
let base: string;
let port: number;

beforeEach(async () => {
  store = await seededStore();
  app = createBareApp(store, {
    sandboxdFor: () => undefined,
    http: {
      allowedHosts: ['agenttier.example.com', 'pinned.example.com:9443'],
      corsOrigins: ['https://app.example.com'],
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  const created = await fetch(`${base}/api/v1/sandboxes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'box', template: 'general-coding' }),
  });
  expect(created.status).toBe(201);
  const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'box' }))!;
  await store.updateStatus<Sandbox>({ ...sb, status: { ...sb.status, phase: 'Running', reason: 'Ready' } });
});

afterEach(async () => {
  await app.close();
  await store.close();
});

/** What the sandbox is asked to be (a stop writes `Stopped` here first). */
const wanted = async () =>
  (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'box' }))!.spec.desiredState ??
  'Running';

describe('Host allow-list', () => {
  it('serves loopback names on any port and configured names, and nothing else (DNS rebinding)', async () => {
    for (const h of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost:9999']) {
      expect((await requestWithHost(base, h, '/api/v1/sandboxes')).status, h).toBe(200);
    }
    expect((await requestWithHost(base, 'agenttier.example.com', '/api/v1/sandboxes')).status).toBe(200);
    expect((await requestWithHost(base, 'AgentTier.Example.com.:443', '/api/v1/sandboxes')).status).toBe(200);
    expect((await requestWithHost(base, 'pinned.example.com:9443', '/api/v1/sandboxes')).status).toBe(200);
    for (const h of [
      `evil.example:${port}`,
      'pinned.example.com:8080',
      `127.0.0.2:${port}`,
      `localhost.evil.example`,
    ]) {
      const r = await requestWithHost(base, h, '/api/v1/sandboxes');
      expect(r.status, h).toBe(421);
      expect(r.json).toMatchObject({ code: 'HOST_NOT_ALLOWED' });
    }
    // A rebinding page's POST does not run either.
    const stop = await requestWithHost(base, `evil.example:${port}`, '/api/v1/sandboxes/box/stop', {
      method: 'POST',
    });
    expect(stop.status).toBe(421);
    expect(await wanted()).toBe('Running');
  });

  it('answers probes on any Host (kubelet uses the pod address), but not metrics', async () => {
    for (const path of ['/healthz', '/readyz'])
      expect((await requestWithHost(base, '10.1.2.3:8080', path)).status, path).toBe(200);
    expect((await requestWithHost(base, '10.1.2.3:8080', '/metrics')).status).toBe(421);
  });

  it('refuses a WebSocket upgrade for a foreign Host before anything else', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/terminal/box`, {
      headers: { host: `evil.example:${port}` },
    });
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(421);
  });
});

describe('Origin', () => {
  it('refuses a state-changing request from another origin, and lets the CLI (no Origin) through', async () => {
    for (const origin of [
      'https://evil.example',
      'null',
      `http://127.0.0.1:${port + 1}`,
      `http://localhost:${port}`,
    ]) {
      const r = await fetch(`${base}/api/v1/sandboxes/box/stop`, { method: 'POST', headers: { origin } });
      expect(r.status, origin).toBe(403);
      expect(await r.json()).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED' });
    }
    expect(await wanted()).toBe('Running');
    const own = await fetch(`${base}/api/v1/sandboxes/box/stop`, {
      method: 'POST',
      headers: { origin: base },
    });
    expect(own.status).toBe(200);
    expect(await wanted()).toBe('Stopped');
  });

  it('refuses a WebSocket terminal from another origin and lets the API origin reach the route', async () => {
    const statusOf = (origin?: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/terminal/box`, origin ? { origin } : {});
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
      });
    expect(await statusOf('https://evil.example')).toBe(403);
    expect(await statusOf(`http://localhost:${port}`)).toBe(403); // another origin, even if loopback
    // Past the guard, the route itself answers (no sandboxd here: 503), proving the guard alone refused.
    expect(await statusOf(base)).toBe(503);
    expect(await statusOf()).toBe(503);
  });

  it('answers CORS only for configured origins, with a proper preflight', async () => {
    const pre = await fetch(`${base}/api/v1/sandboxes/box/exec`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-api-key, x-evil',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-allow-headers')).toBe('content-type, x-api-key');
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    const evilPre = await fetch(`${base}/api/v1/sandboxes/box/exec`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evilPre.status).toBe(403);
    expect(evilPre.headers.get('access-control-allow-origin')).toBeNull();
    const list = await fetch(`${base}/api/v1/sandboxes`, { headers: { origin: 'https://app.example.com' } });
    expect(list.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(list.headers.get('vary')).toContain('Origin');
    const evilList = await fetch(`${base}/api/v1/sandboxes`, { headers: { origin: 'https://evil.example' } });
    expect(evilList.headers.get('access-control-allow-origin')).toBeNull();
    // No-cors loads by another site's page (<script src>, <img src>) get nothing usable either.
    expect(evilList.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(evilList.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('content types a page can send without a preflight', () => {
  it('refuses them on POST with 415, so a cross-site form cannot stop a sandbox or invoke an agent', async () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const stop = await fetch(`${base}/api/v1/sandboxes/box/stop`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: 'x',
      });
      expect(stop.status, type).toBe(415);
      expect(await stop.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
      const invoke = await fetch(`${base}/api/v1/sandboxes/box/invoke?detach=true`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: 'run this',
      });
      expect(invoke.status, type).toBe(415);
    }
    expect(await wanted()).toBe('Running');
  });
});

describe('previews', () => {
  it('authenticate like the API: a router that refuses everyone refuses a preview Host too', async () => {
    const locked = createBareApp(store, {
      sandboxdFor: () => undefined,
      authenticate: async () => {
        throw new PlatformError('UNAUTHENTICATED', 'no credentials');
      },
    });
    await locked.listen({ host: '127.0.0.1', port: 0 });
    try {
      const lockedPort = (locked.server.address() as AddressInfo).port;
      const res = await requestWithHost(
        `http://127.0.0.1:${lockedPort}`,
        `8000-box--default.localhost:${lockedPort}`,
        '/',
      );
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await locked.close();
    }
  });
});

describe('configuration', () => {
  it('refuses bad allow-list entries and wildcard CORS at start, naming each', () => {
    const make = (http: Record<string, unknown>) => () =>
      createBareApp(store, {
        http,
      });
    expect(make({ allowedHosts: ['ok.example', 'bad host', '*.example'] })).toThrow(/bad host, \*\.example/);
    expect(make({ corsOrigins: ['*'] })).toThrow(/invalid CORS origin\(s\): \*/);
    expect(make({ corsOrigins: ['https://a.example/path'] })).toThrow(/https:\/\/a\.example\/path/);
    expect(make({ previewOrigin: 'http://preview.example' })).toThrow(/scheme:\/\/\*\.domain/);
  });
});
