// apps, networking, coordination, node and rbac kinds.
import { deepEqual, getIn, isObject, objectOrEmpty, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import { validateName } from './names.ts';
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
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    allowCreateOnUpdate: true,
    microTimeFields: [
      ['spec', 'acquireTime'],
      ['spec', 'renewTime'],
    ],
  },
  [nameColumn, col('Holder', (o) => str(getIn(o, ['spec', 'holderIdentity'])) ?? ''), ageColumn],
);

export const rbac = (kind: string, plural: string, namespaced: boolean) =>
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind, plural, namespaced });

/** node.k8s.io RuntimeClass (gVisor, Kata): cluster-scoped, `handler` a DNS label and immutable. */
export const runtimeclasses = builtin(
  {
    group: 'node.k8s.io',
    version: 'v1',
    kind: 'RuntimeClass',
    plural: 'runtimeclasses',
    namespaced: false,
    validate(obj, old) {
      // The Go struct has a plain string: a missing handler is "" and fails the DNS-label check.
      const handler = typeof obj.handler === 'string' ? obj.handler : '';
      const errs = validateName('label', handler, 'handler');
      if (old && old.handler !== handler) {
        errs.push({ type: 'Invalid', field: 'handler', value: handler, detail: 'field is immutable' });
      }
      return errs;
    },
  },
  [nameColumn, col('Handler', (o) => str(o.handler) ?? ''), ageColumn],
);

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

/** networking/validation.validateIngressBackend, for `service` backends (and `resource` presence). */
function validateBackend(backend: Json | undefined, field: string): FieldError[] {
  const b = objectOrEmpty(backend);
  const service = isObject(b.service) ? b.service : undefined;
  if (service && b.resource !== undefined)
    return [{ type: 'Invalid', field, value: '', detail: 'cannot set both resource and service backends' }];
  if (b.resource !== undefined) return [];
  if (!service)
    return [{ type: 'Invalid', field, value: '', detail: 'resource or service backend is required' }];
  const errs: FieldError[] = [];
  const name = str(service.name);
  if (!name) errs.push({ type: 'Required', field: `${field}.service.name` });
  else errs.push(...validateName('dns1035', name, `${field}.service.name`));
  const port = objectOrEmpty(service.port);
  const hasName = Boolean(str(port.name));
  const hasNumber = typeof port.number === 'number' && port.number !== 0;
  if (hasName && hasNumber) {
    errs.push({ type: 'Invalid', field, value: '', detail: 'cannot set both port name & port number' });
  } else if (hasNumber && ((port.number as number) < 1 || (port.number as number) > 65535)) {
    errs.push({
      type: 'Invalid',
      field: `${field}.service.port.number`,
      value: port.number,
      detail: 'must be between 1 and 65535, inclusive',
    });
  } else if (!hasName && !hasNumber) {
    errs.push({ type: 'Required', field, detail: 'port name or number is required' });
  }
  return errs;
}

/** networking.k8s.io/v1 Ingress: `defaultBackend` or `rules`, pathType required, service backends. */
export const ingresses = builtin(
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    legacyErrorGroup: 'extensions',
    shortNames: ['ing'],
    statusSubresource: true,
    hasGeneration: true,
    prepareForCreate(obj) {
      obj.status = { loadBalancer: {} };
    },
    validate(obj) {
      const spec = objectOrEmpty(obj.spec);
      const errs: FieldError[] = [];
      const rules = Array.isArray(spec.rules) ? spec.rules : [];
      if (rules.length === 0 && spec.defaultBackend === undefined) {
        errs.push({
          type: 'Invalid',
          field: 'spec',
          value: { go: '[]networking.IngressRule(nil)' },
          detail: 'either `defaultBackend` or `rules` must be specified',
        });
      }
      if (spec.defaultBackend !== undefined)
        errs.push(...validateBackend(spec.defaultBackend, 'spec.defaultBackend'));
      rules.forEach((rule, i) => {
        const http = getIn(rule, ['http']);
        if (!isObject(http)) return;
        const paths = Array.isArray(http.paths) ? http.paths : [];
        if (paths.length === 0) errs.push({ type: 'Required', field: `spec.rules[${i}].http.paths` });
        paths.forEach((p, j) => {
          const f = `spec.rules[${i}].http.paths[${j}]`;
          const o = objectOrEmpty(p);
          const pathType = str(o.pathType);
          if (!pathType) {
            errs.push({ type: 'Required', field: `${f}.pathType`, detail: 'pathType must be specified' });
          } else if (!PATH_TYPES.includes(pathType)) {
            errs.push({
              type: 'NotSupported',
              field: `${f}.pathType`,
              value: pathType,
              supported: PATH_TYPES,
            });
          } else if (pathType !== 'ImplementationSpecific' && !(str(o.path) ?? '').startsWith('/')) {
            errs.push({
              type: 'Invalid',
              field: `${f}.path`,
              value: o.path ?? '',
              detail: 'must be an absolute path',
            });
          }
          errs.push(...validateBackend(o.backend, `${f}.backend`));
        });
      });
      return errs;
    },
  },
  [
    nameColumn,
    col('Class', (o) => str(getIn(o, ['spec', 'ingressClassName'])) ?? '<none>'),
    col('Hosts', (o) => {
      const rules = getIn(o, ['spec', 'rules']);
      const hosts = Array.isArray(rules) ? rules.map((r) => str(getIn(r, ['host'])) || '*') : [];
      return hosts.length ? hosts.join(',') : '*';
    }),
    col('Address', (o) => {
      const lb = getIn(o, ['status', 'loadBalancer', 'ingress']);
      return Array.isArray(lb)
        ? lb.map((x) => str(getIn(x, ['ip'])) ?? str(getIn(x, ['hostname'])) ?? '').join(',')
        : '';
    }),
    col('Ports', (o) => (Array.isArray(getIn(o, ['spec', 'tls'])) ? '80, 443' : '80')),
    ageColumn,
  ],
);
