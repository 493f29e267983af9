import type { Sandbox } from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { SandboxRequest } from '../routes/route-input.ts';
import { namespaceOf } from '../routes/sandboxes.ts';
import { getSandboxOrThrow } from '../sandbox-service.ts';

/** A sandbox route's request, with what the access check left on it (access-control.ts). */
export type CheckedSandboxRequest = SandboxRequest & { sandbox?: Sandbox | null };

/**
 * The sandbox a route names: the one the access check just read (one store read per request), or a
 * fresh read when the route ran without it (in-process callers).
 */
export async function sandboxOfRequest(store: Store, req: CheckedSandboxRequest): Promise<Sandbox> {
  const id = req.params.id;
  const ns = namespaceOf(req.query);
  const seen = req.sandbox;
  if (seen && seen.metadata.name === id && (seen.metadata.namespace ?? 'default') === ns) return seen;
  return getSandboxOrThrow(store, ns, id);
}
