// Core kinds besides Pods and Events: Services, Namespaces, PVCs, Secrets, ConfigMaps, ServiceAccounts.
import { clone, deepEqual, getIn, isObject, objectOrEmpty, str } from './json.ts';
import type { JsonObject } from './json.ts';
import type { FieldError } from './status.ts';
import { ageColumn, builtin, col, countKeys, nameColumn } from './builtin-factory.ts';

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
function validateDataKeys(obj: JsonObject, fields: string[]): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of fields) {
    for (const k of Object.keys(objectOrEmpty(obj[f]))) {
      if (!CONFIG_KEY.test(k) || k.length > 253) {
        errs.push({
          type: 'Invalid',
          field: `${f}[${k}]`,
          value: k,
          detail:
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        });
      }
    }
  }
  return errs;
}
function immutableData(obj: JsonObject, old: JsonObject | undefined, fields: string[]): FieldError[] {
  if (!old || old.immutable !== true) return [];
  const errs: FieldError[] = [];
  for (const f of fields) {
    if (!deepEqual(obj[f] ?? null, old[f] ?? null)) {
      errs.push({ type: 'Forbidden', field: f, detail: 'field is immutable when `immutable` is set' });
    }
  }
  if (obj.immutable !== true) {
    errs.push({
      type: 'Forbidden',
      field: 'immutable',
      detail: 'field is immutable when `immutable` is set',
    });
  }
  return errs;
}

function mergeStringData(obj: JsonObject): void {
  const sd = obj.stringData;
  if (isObject(sd)) {
    const data = objectOrEmpty(obj.data);
    for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v)).toString('base64');
    obj.data = data;
  }
  delete obj.stringData;
}

let nextClusterIp = 10;
function allocateClusterIp(): string {
  const n = nextClusterIp++;
  return `10.96.${Math.floor(n / 250)}.${n % 250}`;
}

export const services = builtin(
  {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    shortNames: ['svc'],
    categories: ['all'],
    statusSubresource: true,
    returnDeletedObject: true,
    nameRule: 'dns1035',
    fieldLabels: {
      'spec.clusterIP': (o) => str(getIn(o, ['spec', 'clusterIP'])),
      'spec.type': (o) => str(getIn(o, ['spec', 'type'])),
    },
    prepareForCreate(obj) {
      const spec = objectOrEmpty(obj.spec);
      obj.spec = spec;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName') {
        if (!str(spec.clusterIP)) spec.clusterIP = allocateClusterIp();
        spec.clusterIPs ??= [spec.clusterIP as string];
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      if (Array.isArray(spec.ports)) {
        for (const p of spec.ports) {
          if (!isObject(p)) continue;
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port ?? null;
        }
      }
      obj.status = { loadBalancer: {} };
    },
    prepareForUpdate(obj, old) {
      // Allocated values survive an update that omits them (patchAllocatedValues in the service registry).
      const spec = objectOrEmpty(obj.spec);
      const oldSpec = objectOrEmpty(old.spec);
      if (!str(spec.clusterIP) && str(oldSpec.clusterIP)) {
        spec.clusterIP = oldSpec.clusterIP ?? null;
        spec.clusterIPs = oldSpec.clusterIPs ?? null;
      }
      obj.spec = spec;
    },
    validate(obj, old) {
      const spec = objectOrEmpty(obj.spec);
      const errs: FieldError[] = [];
      const ports = spec.ports;
      if (
        spec.type !== 'ExternalName' &&
        spec.clusterIP !== 'None' &&
        (!Array.isArray(ports) || ports.length === 0)
      ) {
        errs.push({ type: 'Required', field: 'spec.ports' });
      }
      if (Array.isArray(ports)) {
        ports.forEach((p, i) => {
          const port = getIn(p, ['port']);
          if (typeof port !== 'number' || port < 1 || port > 65535) {
            errs.push({ type: 'Required', field: `spec.ports[${i}].port` });
          }
        });
      }
      if (
        old &&
        str(getIn(old, ['spec', 'clusterIP'])) &&
        spec.clusterIP !== getIn(old, ['spec', 'clusterIP'])
      ) {
        errs.push({
          type: 'Invalid',
          field: 'spec.clusterIPs[0]',
          value: spec.clusterIP,
          detail: 'may not change once set',
        });
      }
      return errs;
    },
  },
  [
    nameColumn,
    col('Type', (o) => str(getIn(o, ['spec', 'type'])) ?? ''),
    col('Cluster-IP', (o) => str(getIn(o, ['spec', 'clusterIP'])) ?? ''),
    col('External-IP', () => '<none>'),
    col('Port(s)', (o) => {
      const ps = getIn(o, ['spec', 'ports']);
      return Array.isArray(ps)
        ? ps.map((p) => `${getIn(p, ['port'])}/${getIn(p, ['protocol'])}`).join(',')
        : '<none>';
    }),
    ageColumn,
  ],
  [['spec.ports', { type: 'map', keys: ['port', 'protocol'], defaults: { protocol: 'TCP' } }]],
);

/** Every namespace carries its name as a label (NamespaceDefaultLabelName, since 1.21). */
function nameLabel(obj: JsonObject): void {
  const meta = objectOrEmpty(obj.metadata);
  meta.labels = { ...objectOrEmpty(meta.labels), 'kubernetes.io/metadata.name': meta.name ?? '' };
  obj.metadata = meta;
}

export const namespaces = builtin(
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    shortNames: ['ns'],
    namespaced: false,
    statusSubresource: true,
    returnDeletedObject: true,
    nameRule: 'label',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    fieldLabels: { 'status.phase': (o) => str(getIn(o, ['status', 'phase'])) },
    prepareForCreate(obj) {
      obj.spec = { ...objectOrEmpty(obj.spec), finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
      nameLabel(obj);
    },
    prepareForUpdate(obj, old) {
      // spec.finalizers is only written through /finalize.
      obj.spec = clone(objectOrEmpty(old.spec));
      nameLabel(obj);
    },
    deletionBlocked: (obj) => {
      const f = getIn(obj, ['spec', 'finalizers']);
      return Array.isArray(f) && f.length > 0;
    },
    onDeletionStarted(obj) {
      obj.status = { ...objectOrEmpty(obj.status), phase: 'Terminating' };
    },
  },
  [nameColumn, col('Status', (o) => str(getIn(o, ['status', 'phase'])) ?? ''), ageColumn],
);

export const pvcs = builtin(
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    shortNames: ['pvc'],
    statusSubresource: true,
    returnDeletedObject: true,
    prepareForCreate(obj) {
      const spec = objectOrEmpty(obj.spec);
      obj.spec = spec;
      spec.volumeMode ??= 'Filesystem';
      obj.status = { phase: 'Pending' };
    },
    validate(obj, old) {
      const spec = objectOrEmpty(obj.spec);
      const errs: FieldError[] = [];
      if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) {
        errs.push({
          type: 'Required',
          field: 'spec.accessModes',
          detail: 'at least 1 access mode is required',
        });
      }
      if (getIn(spec, ['resources', 'requests', 'storage']) === undefined) {
        errs.push({ type: 'Required', field: 'spec.resources[storage]' });
      }
      if (old) {
        const strip = (s: JsonObject) => {
          const c = clone(s);
          if (isObject(c.resources)) delete c.resources.requests;
          return c;
        };
        if (!deepEqual(strip(spec), strip(objectOrEmpty(old.spec)))) {
          errs.push({
            type: 'Forbidden',
            field: 'spec',
            detail: 'spec is immutable after creation except resources.requests for bound claims',
          });
        }
      }
      return errs;
    },
  },
  [
    nameColumn,
    col('Status', (o) => str(getIn(o, ['status', 'phase'])) ?? ''),
    col('Volume', (o) => str(getIn(o, ['spec', 'volumeName'])) ?? ''),
    col('Capacity', (o) => str(getIn(o, ['status', 'capacity', 'storage'])) ?? ''),
    col('Access Modes', (o) => (Array.isArray(getIn(o, ['status', 'accessModes'])) ? 'RWO' : '')),
    col('StorageClass', (o) => str(getIn(o, ['spec', 'storageClassName'])) ?? ''),
    ageColumn,
  ],
);

export const secrets = builtin(
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    fieldLabels: { type: (o) => str(o.type) },
    prepareForCreate(obj) {
      mergeStringData(obj);
      obj.type ??= 'Opaque';
    },
    prepareForUpdate(obj) {
      mergeStringData(obj);
      obj.type ??= 'Opaque';
    },
    validate: (obj, old) => [...validateDataKeys(obj, ['data']), ...immutableData(obj, old, ['data'])],
  },
  [
    nameColumn,
    col('Type', (o) => str(o.type) ?? ''),
    col('Data', (o) => countKeys(o.data), 0, 'integer'),
    ageColumn,
  ],
);

export const configmaps = builtin(
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    shortNames: ['cm'],
    validate: (obj, old) => [
      ...validateDataKeys(obj, ['data', 'binaryData']),
      ...immutableData(obj, old, ['data', 'binaryData']),
    ],
  },
  [nameColumn, col('Data', (o) => countKeys(o.data) + countKeys(o.binaryData), 0, 'integer'), ageColumn],
);

export const serviceaccounts = builtin(
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', shortNames: ['sa'] },
  [
    nameColumn,
    col('Secrets', (o) => (Array.isArray(o.secrets) ? o.secrets.length : 0), 0, 'integer'),
    ageColumn,
  ],
);
