import type { Sandbox } from '@agenttier/contract';

/**
 * Deterministic child names: the same sandbox always maps to the same container and volume, so a
 * crashed create is finished (not duplicated) by the next reconcile.
 */
export function workloadName(sandbox: Pick<Sandbox, 'metadata'>): string {
  return `agenttier-${sandbox.metadata.namespace ?? 'default'}-${sandbox.metadata.name}`;
}

export function volumeName(sandbox: Pick<Sandbox, 'metadata'>): string {
  return `${workloadName(sandbox)}-workspace`;
}
