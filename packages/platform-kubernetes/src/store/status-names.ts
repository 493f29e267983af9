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

/** A Sandbox with `status.podName`/`status.pvcName` filled in from its name when still unset. */
function named<T extends Resource>(obj: T): T {
  if (obj.kind !== 'Sandbox') return obj;
  const sandbox = obj as unknown as Sandbox;
  if (sandbox.status?.podName && sandbox.status.pvcName) return obj;
  const names = childNames(obj);
  return { ...obj, status: { podName: names.pod, pvcName: names.pvc, ...sandbox.status } } as T;
}

/**
 * The Store the router serves: a Sandbox the controller has not reconciled yet (the create response
 * itself) already names the Pod and claim the controller will create (`<name>-pod`,
 * `<name>-workspace`), not the REST layer's fallback (the local platform's container names).
 * Only what is returned is named; nothing is written.
 */
export function withChildNamesOnRead<S extends Store>(store: S): S {
  const wrapped: Partial<Store> = {
    get: async <T extends Resource>(...args: Parameters<Store['get']>) => {
      const obj = await store.get<T>(...args);
      return obj && named(obj);
    },
    list: async <T extends Resource>(...args: Parameters<Store['list']>) =>
      (await store.list<T>(...args)).map(named),
    create: async <T extends Resource>(obj: T) => named(await store.create(obj)),
    update: async <T extends Resource>(obj: T) => named(await store.update(obj)),
    updateStatus: async <T extends Resource>(obj: T) => named(await store.updateStatus(obj)),
  };
  return new Proxy(store, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in wrapped) return wrapped[prop as keyof Store];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
