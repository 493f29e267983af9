import type { ErrorCode, Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { fromSandboxdError } from '../data-plane/sandboxd-data-plane.ts';
import type { SandboxService } from '../sandbox-service.ts';
import { requireRunning } from '../sandbox-service.ts';
import { sandboxOfRequest } from '../auth/request-sandbox.ts';
import type { SandboxRequest } from './route-input.ts';

export interface SandboxdRouteDeps {
  store: Store;
  sandboxes: SandboxService;
  sandboxdFor: (sandbox: Sandbox) => SandboxdClient | undefined;
}

/** The paths the file routes may touch: the workspace mount and /tmp. */
export function fileRootsOf(sb: Sandbox): string[] {
  return [sb.spec.storage?.mountPath ?? '/workspace', '/tmp'];
}

/**
 * Runs a sandboxd call, mapping its errors to the catalogue (one place for every sandboxd route).
 * `notFound` names what a `not_found` from the daemon means on this route (default FILE_NOT_FOUND).
 */
export async function callSandboxd<T>(fn: () => Promise<T>, opts: { notFound?: ErrorCode } = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const mapped = fromSandboxdError(err);
    if (opts.notFound && mapped instanceof PlatformError && mapped.code === 'FILE_NOT_FOUND') {
      throw new PlatformError(opts.notFound, mapped.message, { cause: err });
    }
    throw mapped;
  }
}

/** A sandboxd call about one background process: a missing one is PROCESS_NOT_FOUND. */
export function callProcess<T>(fn: () => Promise<T>): Promise<T> {
  return callSandboxd(fn, { notFound: 'PROCESS_NOT_FOUND' });
}

/**
 * The running sandbox a request names and its sandboxd client; records activity. `instead` tells a
 * caller of a sandbox without sandboxd what to use (e.g. "use POST /exec").
 */
export async function sandboxdOf(
  deps: SandboxdRouteDeps,
  req: SandboxRequest,
  instead: string,
): Promise<{ sb: Sandbox; client: SandboxdClient }> {
  const sb = await sandboxOfRequest(deps.store, req);
  requireRunning(sb);
  void deps.sandboxes.touch(sb, Date.now());
  const client = deps.sandboxdFor(sb);
  if (!client) {
    throw new PlatformError('UNAVAILABLE', `sandbox ${sb.metadata.name} runs without sandboxd; ${instead}`);
  }
  return { sb, client };
}
