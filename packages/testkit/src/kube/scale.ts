// The /scale subresource: an autoscaling/v1 Scale built from the kind's replica paths.
import { getIn, isObject } from './json.ts';
import type { JsonObject } from './json.ts';
import { groupResource } from './resource-type.ts';
import type { ResourceType } from './resource-type.ts';
import { errors } from './status.ts';

export function scaleOf(t: ResourceType, stored: JsonObject): JsonObject {
  const m = isObject(stored.metadata) ? stored.metadata : {};
  if (!t.scale) throw errors.notFound(groupResource(t), String(m.name ?? ''));
  const at = (p: string) => getIn(stored, p.replace(/^\./, '').split('.'));
  const status: JsonObject = { replicas: Number(at(t.scale.statusReplicasPath) ?? 0) };
  const selPath = t.scale.labelSelectorPath;
  if (selPath && typeof at(selPath) === 'string') status.selector = at(selPath) as string;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name ?? null,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      uid: m.uid ?? null,
      resourceVersion: m.resourceVersion ?? null,
      creationTimestamp: m.creationTimestamp ?? null,
    },
    spec: { replicas: Number(at(t.scale.specReplicasPath) ?? 0) },
    status,
  };
}

/** Writes the Scale's spec.replicas into a copy of the object, at the kind's spec replica path. */
export function withReplicas(t: ResourceType, obj: JsonObject, replicas: number): void {
  const path = (t.scale?.specReplicasPath ?? '.spec.replicas').replace(/^\./, '').split('.');
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    const next = cur[p];
    cur = isObject(next) ? next : (cur[p] = {});
  }
  cur[path[path.length - 1] ?? 'replicas'] = replicas;
}
