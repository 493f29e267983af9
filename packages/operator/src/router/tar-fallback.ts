import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { DataPlane } from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';

/** Largest directory archive served through the fallback (it is buffered once). */
const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024;

const unreachable = (sandbox: Sandbox) =>
  new PlatformError(
    'UPSTREAM_UNREACHABLE',
    `sandboxd in sandbox "${sandbox.metadata.name}" is not reachable; check its pod (kubectl describe pod ${sandbox.metadata.name}-pod)`,
  );

/**
 * What SandboxdDataPlane falls back to on Kubernetes. There is no engine exec here: reaching into pods
 * would need `pods/exec`, which the router is deliberately not granted. Archives are made by tar
 * inside the sandbox, through sandboxd.
 */
export function sandboxdFallback(clientFor: (sandbox: Sandbox) => SandboxdClient | undefined): DataPlane {
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
    async archiveTar(sandbox, path) {
      const client = clientFor(sandbox);
      if (!client) throw unreachable(sandbox);
      const r = await client.exec({
        command: ['tar', '-C', path, '-cf', '-', '.'],
        outputEncoding: 'base64',
        maxOutputBytes: MAX_ARCHIVE_BYTES,
        timeoutMs: 300_000,
      });
      if (r.truncated)
        throw new PlatformError(
          'PAYLOAD_TOO_LARGE',
          `${path} is larger than ${MAX_ARCHIVE_BYTES} bytes as a tar archive`,
        );
      if (r.exitCode !== 0)
        throw new PlatformError('RUNTIME_FAILED', `tar of ${path} failed: ${r.stderr.trim()}`);
      const bytes = Buffer.from(r.stdout, 'base64');
      return (async function* () {
        yield new Uint8Array(bytes);
      })();
    },
  };
}
