import { readFileSync } from 'node:fs';
import type { Sandbox } from '@agenttier/contract';
import type { SandboxdClient, SandboxdTarget } from '@agenttier/sandboxd';
import { createSandboxdClient } from '@agenttier/sandboxd';

/**
 * One sandboxd client per sandbox incarnation (uid + token), reused across requests so connections
 * stay alive. A resumed sandbox keeps its uid and token file, so its client survives stop/resume.
 */
export function createSandboxdClientCache(
  resolve: (sandbox: Sandbox) => { target: SandboxdTarget; tokenPath: string },
) {
  const clients = new Map<string, { client: SandboxdClient; token: string }>();
  return {
    get(sandbox: Sandbox): SandboxdClient {
      const { target, tokenPath } = resolve(sandbox);
      const key = `${sandbox.metadata.uid}:${JSON.stringify(target)}`;
      const token = readFileSync(tokenPath, 'utf8').trim();
      const hit = clients.get(key);
      if (hit && hit.token === token) return hit.client;
      hit?.client.close();
      const client = createSandboxdClient(target, token);
      clients.set(key, { client, token });
      return client;
    },
    forget(uid: string) {
      for (const [key, { client }] of clients) {
        if (key.startsWith(`${uid}:`)) {
          client.close();
          clients.delete(key);
        }
      }
    },
    closeAll() {
      for (const { client } of clients.values()) client.close();
      clients.clear();
    },
  };
}
