import type { FastifyInstance } from 'fastify';
import type { Sandbox, SandboxUsage } from '@agenttier/contract';
import { DEFAULT_NAMESPACE, PlatformError, measuredUsageSchema } from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { sandboxOfRequest } from '../auth/request-sandbox.ts';
import { callSandboxd } from '../routes/sandboxd-access.ts';
import type { SandboxRoute } from '../routes/route-input.ts';
import { requireRunning } from '../sandbox-service.ts';

export interface UsageRouteDeps {
  store: Store;
  sandboxdFor: (sandbox: Sandbox) => SandboxdClient | undefined;
  /** How long one measurement answers every caller of a sandbox. @default 1000 */
  cacheTtlMs?: number;
  /** How long to wait for the sandbox's daemon. @default 5000 */
  timeoutMs?: number;
  now?: () => number;
}

interface Cached {
  atMs: number;
  answer: Promise<SandboxUsage>;
}

/**
 * `GET /api/v1/sandboxes/{id}/usage`: CPU, memory, pids and workspace figures, measured by the
 * sandbox's daemon at read time. One measurement per sandbox (per daemon incarnation) serves every
 * caller for `cacheTtlMs`, so a dashboard polled by many viewers costs the sandbox one read a second.
 * Reading usage is not activity: it never keeps an idle sandbox from stopping.
 */
export function registerUsageRoutes(app: FastifyInstance, deps: UsageRouteDeps): void {
  const ttlMs = deps.cacheTtlMs ?? 1000;
  const now = deps.now ?? Date.now;
  // Keyed by the daemon's client: a restarted sandbox gets a new client, and with it a new entry.
  const cache = new WeakMap<SandboxdClient, Cached>();

  const measure = async (sb: Sandbox, client: SandboxdClient): Promise<SandboxUsage> => {
    const raw = await callSandboxd(() =>
      client.usage({ path: sb.spec.storage?.mountPath ?? '/workspace', timeoutMs: deps.timeoutMs ?? 5000 }),
    );
    // The daemon runs inside the sandbox, whose code can replace it: take only well-formed figures.
    const parsed = measuredUsageSchema.safeParse(raw);
    if (!parsed.success)
      throw new PlatformError(
        'RUNTIME_FAILED',
        `the daemon of sandbox ${sb.metadata.name} answered usage figures that are not valid; try again, or restart the sandbox`,
      );
    return {
      sandboxId: sb.metadata.name,
      namespace: sb.metadata.namespace ?? DEFAULT_NAMESPACE,
      sampledAt: new Date(now()).toISOString(),
      ...parsed.data,
    };
  };

  app.get<SandboxRoute>('/api/v1/sandboxes/:id/usage', async (req, reply) => {
    const sb = await sandboxOfRequest(deps.store, req);
    requireRunning(sb);
    const client = deps.sandboxdFor(sb);
    if (!client)
      throw new PlatformError(
        'UNAVAILABLE',
        `sandbox ${sb.metadata.name} runs without sandboxd, which measures its usage; none is available`,
      );
    let entry = cache.get(client);
    if (!entry || now() - entry.atMs >= ttlMs) {
      entry = { atMs: now(), answer: measure(sb, client) };
      cache.set(client, entry);
      // A failure is not kept: the next caller tries again.
      const failed = entry;
      failed.answer.catch(() => {
        if (cache.get(client) === failed) cache.delete(client);
      });
    }
    const usage = await entry.answer;
    reply.header('cache-control', 'no-store');
    // The cached answer names the sandbox it was measured for; the caller's own request named it too.
    return { ...usage, sandboxId: sb.metadata.name, namespace: sb.metadata.namespace ?? DEFAULT_NAMESPACE };
  });
}
