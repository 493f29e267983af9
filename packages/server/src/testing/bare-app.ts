import { pino } from 'pino';
import type { DataPlane } from '@agenttier/core';
import type { Store } from '@agenttier/core';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { createApp } from '../app.ts';

/**
 * The app on `store` with an empty data plane (no sandbox runs) and a silent logger, for tests of
 * the HTTP layer; `deps` adds or overrides the rest (sandboxd, keys, sessions, HTTP limits).
 */
export function createBareApp(store: Store, deps: Partial<AppDeps> = {}): FastifyInstance {
  return createApp({
    store,
    dataPlaneFor: async () => ({}) as DataPlane,
    logger: pino({ level: 'silent' }),
    ...deps,
  });
}
