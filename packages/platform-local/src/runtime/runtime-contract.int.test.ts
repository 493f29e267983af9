/**
 * The Runtime port's behaviour suite (testkit's runRuntimeContract) on the real engines: the private
 * Docker engine, and Podman's Docker-compatible API when AGENTTIER_PODMAN_HOST names one (skipped
 * otherwise). Each run uses a namespace of its own and removes only what it made.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Sandbox } from '@agenttier/contract';
import { API_VERSION, LABEL_NAMESPACE } from '@agenttier/contract';
import { BUILTIN_TEMPLATES, mergeSandboxWithTemplate } from '@agenttier/core';
import { runRuntimeContract } from '@agenttier/testkit';
import { createDockerClient } from './docker-client.ts';
import { DockerRuntime } from './docker-runtime.ts';

const minimalShell = BUILTIN_TEMPLATES.find((t) => t.metadata.name === 'minimal-shell')!;

function onEngine(dockerHost: string) {
  return async () => {
    const docker = createDockerClient(dockerHost);
    const namespace = `rc-${randomBytes(3).toString('hex')}`;
    const runtime = new DockerRuntime({
      docker,
      instanceId: `rc${randomBytes(4).toString('hex')}`,
      stopGraceSec: 1,
    });
    return {
      runtime,
      newSandbox: async (name: string) => {
        const sandbox: Sandbox = {
          apiVersion: API_VERSION,
          kind: 'Sandbox',
          metadata: { name, namespace, uid: randomUUID(), generation: 1 },
          spec: { templateRef: { name: 'minimal-shell' } },
        };
        return { sandbox, effective: mergeSandboxWithTemplate(sandbox, minimalShell.spec, 'minimal-shell') };
      },
      close: async () => {
        const filters = { label: [`${LABEL_NAMESPACE}=${namespace}`] };
        for (const c of await docker.listContainers({ all: true, filters }))
          await docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined);
        for (const v of (await docker.listVolumes({ filters })).Volumes ?? [])
          if (v.Labels?.[LABEL_NAMESPACE] === namespace)
            await docker
              .getVolume(v.Name)
              .remove()
              .catch(() => undefined);
      },
    };
  };
}

runRuntimeContract(
  'docker',
  onEngine(process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock'),
);

const podmanHost = process.env.AGENTTIER_PODMAN_HOST;
runRuntimeContract('podman', onEngine(podmanHost ?? 'unix:///run/agenttier/podman.sock'), {
  skip: !podmanHost,
});
