// apps, networking, coordination and rbac kinds.
import { deepEqual, getIn, isObject, objectOrEmpty, str } from './json.ts';
import type { JsonObject } from './json.ts';
import type { FieldError } from './status.ts';
import { ageColumn, builtin, col, nameColumn } from './builtin-factory.ts';
import { defaultPodSpec, validateContainers } from './builtin-pods.ts';

function defaultDeployment(obj: JsonObject): void {
  const spec = objectOrEmpty(obj.spec);
  obj.spec = spec;
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
  const podSpec = getIn(spec, ['template', 'spec']);
  if (isObject(podSpec)) defaultPodSpec(podSpec);
}

export const deployments = builtin(
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    shortNames: ['deploy'],
    categories: ['all'],
    statusSubresource: true,
    hasGeneration: true,
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
    prepareForCreate(obj) {
      defaultDeployment(obj);
      obj.status = {};
    },
    prepareForUpdate: (obj) => defaultDeployment(obj),
    validate(obj, old) {
      const errs: FieldError[] = [];
      const selector = getIn(obj, ['spec', 'selector']);
      const labels = objectOrEmpty(getIn(obj, ['spec', 'template', 'metadata', 'labels']));
      if (!isObject(selector)) {
        errs.push({ type: 'Required', field: 'spec.selector' });
      } else {
        const ml = objectOrEmpty(selector.matchLabels);
        if (Object.entries(ml).some(([k, v]) => labels[k] !== v)) {
          errs.push({
            type: 'Invalid',
            field: 'spec.template.metadata.labels',
            value: labels,
            detail: '`selector` does not match template `labels`',
          });
        }
      }
      const podSpec = objectOrEmpty(getIn(obj, ['spec', 'template', 'spec']));
      for (const e of validateContainers(podSpec))
        errs.push({ ...e, field: e.field.replace(/^spec\./, 'spec.template.spec.') });
      if (old && !deepEqual(selector ?? null, getIn(old, ['spec', 'selector']) ?? null)) {
        errs.push({ type: 'Invalid', field: 'spec.selector', value: selector, detail: 'field is immutable' });
      }
      return errs;
    },
  },
  [
    nameColumn,
    col(
      'Ready',
      (o) =>
        `${Number(getIn(o, ['status', 'readyReplicas']) ?? 0)}/${Number(getIn(o, ['spec', 'replicas']) ?? 0)}`,
    ),
    col('Up-to-date', (o) => Number(getIn(o, ['status', 'updatedReplicas']) ?? 0), 0, 'integer'),
    col('Available', (o) => Number(getIn(o, ['status', 'availableReplicas']) ?? 0), 0, 'integer'),
    ageColumn,
  ],
);

export const networkpolicies = builtin(
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    shortNames: ['netpol'],
    hasGeneration: true,
    prepareForCreate(obj) {
      const spec = objectOrEmpty(obj.spec);
      obj.spec = spec;
      spec.podSelector ??= {};
      if (spec.policyTypes === undefined) {
        spec.policyTypes = spec.egress !== undefined ? ['Ingress', 'Egress'] : ['Ingress'];
      }
    },
  },
  [
    nameColumn,
    col('Pod-Selector', (o) => JSON.stringify(getIn(o, ['spec', 'podSelector', 'matchLabels']) ?? '<none>')),
    ageColumn,
  ],
);

export const leases = builtin(
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', allowCreateOnUpdate: true },
  [nameColumn, col('Holder', (o) => str(getIn(o, ['spec', 'holderIdentity'])) ?? ''), ageColumn],
);

export const rbac = (kind: string, plural: string, namespaced: boolean) =>
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind, plural, namespaced });
