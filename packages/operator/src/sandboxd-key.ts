import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { isAlreadyExists, isNotFound } from '@agenttier/platform-kubernetes';

export const SANDBOXD_KEY_SECRET = 'agenttier-sandboxd-key';

/**
 * The install-wide key from which every sandbox's sandboxd token is derived. The controller creates
 * it on first start (so kustomize and Helm installs need no generated secret); the router only reads
 * it. Both are granted exactly this one Secret by name.
 */
export async function loadSandboxdKey(
  kc: KubeConfig,
  namespace: string,
  opts: { create: boolean; name?: string; waitMs?: number },
): Promise<Buffer> {
  const api = kc.makeApiClient(CoreV1Api);
  const name = opts.name ?? SANDBOXD_KEY_SECRET;
  const deadline = Date.now() + (opts.waitMs ?? 60_000);
  for (;;) {
    try {
      const s = await api.readNamespacedSecret({ namespace, name });
      const key = s.data?.key;
      if (key) return Buffer.from(key, 'base64');
      throw new Error(`secret ${namespace}/${name} has no "key"`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (opts.create) {
      try {
        await api.createNamespacedSecret({
          namespace,
          body: {
            metadata: {
              name,
              namespace,
              labels: {
                'app.kubernetes.io/name': 'agenttier',
                'agenttier.io/secret-purpose': 'sandboxd-key',
              },
            },
            type: 'Opaque',
            data: { key: randomBytes(32).toString('base64') },
          },
        });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`secret ${namespace}/${name} does not exist; is the controller running?`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
