import type { Resource, Sandbox } from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import { childNames } from '../runtime/children.ts';

/**
 * The Store the controller hands to core's reconciler on Kubernetes: every Sandbox status it writes
 * also names the sandbox's Pod and workspace claim (`status.podName`, `status.pvcName`, shown by
 * `kubectl get sb -o wide` and the REST API). Both are deterministic from the sandbox's name, so the
 * reconciler's "status unchanged" check sees them again on the next pass and writes nothing more.
 */
export function withChildNamesInStatus<S extends Store>(store: S): S {
  const updateStatus = async <T extends Resource>(obj: T): Promise<T> => {
    if (obj.kind !== 'Sandbox') return store.updateStatus(obj);
    const names = childNames(obj);
    const sandbox = obj as unknown as Sandbox;
    return store.updateStatus({
      ...obj,
      status: { ...sandbox.status, podName: names.pod, pvcName: names.pvc },
    });
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'updateStatus') return updateStatus;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
