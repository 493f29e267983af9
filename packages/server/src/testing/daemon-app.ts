import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { DataPlane } from '@agenttier/core';
import type { SqliteStore } from '@agenttier/platform-local';
import type { SandboxdClient } from '@agenttier/sandboxd';
import type { AppDeps } from '../app.ts';
import { SandboxdDataPlane } from '../data-plane/sandboxd-data-plane.ts';
import { createBareApp } from './bare-app.ts';
import { seededStore } from './seeded-store.ts';

/**
 * The app with one Running sandbox, `box`, whose data plane and sandboxd routes all go to `client`
 * (a real sandboxd, or a daemon the test controls). The engine fallback fails every call, so an answer
 * can only have come from that daemon.
 */
export interface DaemonApp {
  app: FastifyInstance;
  store: SqliteStore;
  /** A request to `/api/v1/sandboxes/box{path}`. */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    payload?: unknown,
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A data plane whose every call fails: the engine fallback must not be what answers a test. */
export const noEngineFallback = new Proxy({} as DataPlane, {
  get: (_t, prop) =>
    prop === 'kind'
      ? 'engine'
      : async () => {
          throw new PlatformError('INTERNAL', 'the engine fallback was used');
        },
});

export async function startDaemonApp(
  client: SandboxdClient,
  deps: Partial<AppDeps> = {},
): Promise<DaemonApp> {
  const store = await seededStore();
  const plane = new SandboxdDataPlane(() => client, noEngineFallback);
  const app = createBareApp(store, { dataPlaneFor: async () => plane, sandboxdFor: () => client, ...deps });
  await app.ready();
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes',
    payload: { name: 'box', templateRef: { name: 'minimal-shell' } },
  });
  if (created.statusCode !== 201) throw new Error(`create: ${created.body}`);
  const sb = (await store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'box' }))!;
  await store.updateStatus<Sandbox>({
    ...sb,
    status: { ...sb.status, phase: 'Running', reason: 'Ready', startedAt: '2026-03-01T12:00:00Z' },
  });
  return {
    app,
    store,
    call: (method, path, payload) =>
      app.inject({
        method,
        url: `/api/v1/sandboxes/box${path}`,
        ...(payload === undefined
          ? {}
          : Buffer.isBuffer(payload)
            ? { payload, headers: { 'content-type': 'application/octet-stream' } }
            : { payload: payload as object }),
      }),
    async close() {
      await app.close();
      await store.close();
    },
  };
}
