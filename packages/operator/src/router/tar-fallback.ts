import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { DataPlane } from '@agenttier/core';

const unreachable = (sandbox: Sandbox) =>
  new PlatformError(
    'UPSTREAM_UNREACHABLE',
    `sandboxd in sandbox "${sandbox.metadata.name}" is not reachable; check its pod (kubectl describe pod ${sandbox.metadata.name}-pod)`,
  );

/**
 * What SandboxdDataPlane falls back to on Kubernetes. There is no engine exec here: reaching into pods
 * would need `pods/exec`, which the router is deliberately not granted. Archives come from sandboxd
 * itself (SandboxdDataPlane), so without it there are none either.
 */
export function sandboxdFallback(): DataPlane {
  const fail = async (sandbox: Sandbox): Promise<never> => {
    throw unreachable(sandbox);
  };
  return {
    kind: 'sandboxd',
    exec: fail,
    stat: fail,
    list: fail,
    read: fail,
    write: fail,
    archiveTar: fail,
  };
}
