import { expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Sandbox } from '@agenttier/contract';
import type { SqliteStore } from '@agenttier/platform-local';

/** The template the host-sandboxd tests create sandboxes from. */
export const HOST_SHELL_TEMPLATE = 'host-shell';

/**
 * Creates the `host-shell` template: a shell and working directory that exist on the host, where a
 * test's local sandboxd runs (the image is never pulled).
 */
export async function createHostShellTemplate(
  app: FastifyInstance,
  workspace: string,
  /** The request's credentials, where the app checks them. */
  headers: Record<string, string> = {},
): Promise<void> {
  const tpl = await app.inject({
    method: 'POST',
    url: '/api/v1/templates',
    headers,
    payload: {
      name: HOST_SHELL_TEMPLATE,
      spec: { image: { repository: 'unused:dev' }, harness: { shell: '/bin/sh', workingDir: workspace } },
    },
  });
  expect(tpl.statusCode, tpl.body).toBe(201);
}

/**
 * Creates a sandbox from `host-shell` (or `template`) through the API and marks it Running/Ready in the store, as
 * the (absent) controller would once the workload answered.
 */
export async function createRunningSandbox(
  app: FastifyInstance,
  store: SqliteStore,
  input: {
    name: string;
    namespace?: string;
    startedAt?: string;
    headers?: Record<string, string>;
    /** A built-in template by name (the `template` shorthand) instead of `host-shell`. */
    template?: string;
  },
): Promise<void> {
  const namespace = input.namespace ?? 'default';
  const r = await app.inject({
    method: 'POST',
    url: '/api/v1/sandboxes',
    headers: input.headers ?? {},
    payload: {
      name: input.name,
      ...(input.namespace ? { namespace } : {}),
      ...(input.template ? { template: input.template } : { templateRef: { name: HOST_SHELL_TEMPLATE } }),
    },
  });
  expect(r.statusCode, r.body).toBe(201);
  const sb = (await store.get<Sandbox>('Sandbox', { namespace, name: input.name }))!;
  await store.updateStatus<Sandbox>({
    ...sb,
    status: {
      ...sb.status,
      phase: 'Running',
      reason: 'Ready',
      ...(input.startedAt ? { startedAt: input.startedAt } : {}),
    },
  });
}
