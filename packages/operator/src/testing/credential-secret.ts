import type { CoreV1Api } from '@kubernetes/client-node';

/**
 * Creates user `owner`'s credential Secret in `namespace`: labelled for sandboxes and annotated as
 * theirs alone, as `agenttier secret create` makes it, holding `TOKEN`. The forged-creator attacks
 * try to get it mounted into someone else's sandbox.
 */
export async function createOwnedCredential(
  core: CoreV1Api,
  opts: { namespace: string; name: string; owner: string; token: string },
): Promise<void> {
  await core.createNamespacedSecret({
    namespace: opts.namespace,
    body: {
      metadata: {
        name: opts.name,
        labels: { 'agenttier.io/credential': 'true' },
        annotations: { 'agenttier.io/credential-owner': opts.owner },
      },
      stringData: { TOKEN: opts.token },
    },
  });
}
