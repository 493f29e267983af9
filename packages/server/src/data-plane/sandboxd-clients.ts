import { randomBytes } from 'node:crypto';
import type { Sandbox } from '@agenttier/contract';
import type { SandboxdClient, SandboxdTarget } from '@agenttier/sandboxd';
import { createSandboxdClient } from '@agenttier/sandboxd';

/** How to reach one container's sandboxd: a connection target and the token it accepts. */
export interface SandboxdRoute {
  /** Identifies the container (a new start is a new container): a new id means a new client. */
  incarnation: string;
  target: SandboxdTarget;
  token: string;
}

/**
 * One sandboxd client per sandbox incarnation (container), reused across requests so connections stay
 * alive. `resolve` answers from the router's memory; undefined (no running container known) gives a
 * client that reports `unreachable`, so callers fall back to the engine as for a missing daemon.
 */
export function createSandboxdClientCache(resolve: (sandbox: Sandbox) => SandboxdRoute | undefined) {
  const clients = new Map<string, { client: SandboxdClient; incarnation: string }>();
  return {
    get(sandbox: Sandbox): SandboxdClient {
      const key = sandbox.metadata.uid ?? `${sandbox.metadata.namespace}/${sandbox.metadata.name}`;
      const route = resolve(sandbox) ?? unreachableRoute();
      const hit = clients.get(key);
      if (hit && hit.incarnation === route.incarnation) return hit.client;
      hit?.client.close();
      const client = createSandboxdClient(route.target, route.token);
      clients.set(key, { client, incarnation: route.incarnation });
      return client;
    },
    forget(uid: string) {
      clients.get(uid)?.client.close();
      clients.delete(uid);
    },
    closeAll() {
      for (const { client } of clients.values()) client.close();
      clients.clear();
    },
  };
}

function unreachableRoute(): SandboxdRoute {
  return {
    incarnation: 'none',
    target: {
      connect: () =>
        Promise.reject(Object.assign(new Error('no running sandboxd is known'), { code: 'ENOENT' })),
    },
    // Never sent (connect always fails); random so no constant credential exists anywhere.
    token: randomBytes(24).toString('base64url'),
  };
}
