// The built-in kinds the AgentTier operator touches, with the slice of each kind's server-side
// behaviour (defaults, status reset, immutability, field selectors, printers) that an operator can
// observe. Anything not listed here is stored as given.
import { clone, deepEqual, getIn, isObject, objectOrEmpty, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import { COMMON_LIST_HINTS, suffixHints } from './resource-type.ts';
import type { ListKind, PrinterColumn, ResourceType } from './resource-type.ts';
import type { FieldError } from './status.ts';
import { ageOf } from './time.ts';

type Spec = Partial<ResourceType> & Pick<ResourceType, 'group' | 'kind' | 'plural'> & { version: string };

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const nameColumn: PrinterColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (o) => str(getIn(o, ['metadata', 'name'])) ?? '',
};
const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o) => ageOf(getIn(o, ['metadata', 'creationTimestamp'])),
};
function col(name: string, cell: (o: JsonObject) => Json, priority = 0, type = 'string'): PrinterColumn {
  return { name, type, cell, priority, description: name };
}
const countKeys = (v: unknown) => (isObject(v) ? Object.keys(v).length : 0);

function builtin(
  spec: Spec,
  columns?: PrinterColumn[],
  extraHints: Array<[string, ListKind]> = [],
): ResourceType {
  const { version, ...rest } = spec;
  return {
    // client-node's model class, e.g. V1Pod (core events override this with CoreV1Event).
    model: `V${version.slice(1)}${spec.kind}`,
    listKind: `${spec.kind}List`,
    singular: spec.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    namespaced: true,
    versions: [version],
    storageVersion: version,
    storageKey: `${spec.group}/${spec.plural}`,
    statusSubresource: false,
    hasGeneration: false,
    allowUnconditionalUpdate: true,
    allowCreateOnUpdate: false,
    returnDeletedObject: false,
    strategicMerge: true,
    isCustom: false,
    nameRule: 'subdomain',
    hints: suffixHints([...extraHints, ...COMMON_LIST_HINTS]),
    fieldLabels: {},
    verbs: ALL_VERBS,
    printerColumns: () => columns ?? [nameColumn, ageColumn],
    ...rest,
  };
}

// --- Pods ---------------------------------------------------------------------------------------

function defaultContainer(c: JsonObject): void {
  const image = str(c.image) ?? '';
  const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
  c.imagePullPolicy ??= image.includes('@') || tagged ? 'IfNotPresent' : 'Always';
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: JsonObject): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const list of ['containers', 'initContainers']) {
    const cs = spec[list];
    if (Array.isArray(cs)) for (const c of cs) if (isObject(c)) defaultContainer(c);
  }
}

function qosClass(spec: JsonObject): string {
  const containers = Array.isArray(spec.containers) ? spec.containers.filter(isObject) : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = objectOrEmpty(getIn(c, ['resources', 'requests']));
    const lim = objectOrEmpty(getIn(c, ['resources', 'limits']));
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && req[r] !== lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function validateContainers(spec: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const cs = spec.containers;
  if (!Array.isArray(cs) || cs.length === 0) return [{ type: 'Required', field: 'spec.containers' }];
  const seen = new Set<string>();
  cs.forEach((c, i) => {
    const o = objectOrEmpty(c);
    const name = str(o.name);
    if (!name) errs.push({ type: 'Required', field: `spec.containers[${i}].name` });
    else if (seen.has(name))
      errs.push({ type: 'Duplicate', field: `spec.containers[${i}].name`, value: name });
    else seen.add(name);
    if (!str(o.image)) errs.push({ type: 'Required', field: `spec.containers[${i}].image` });
  });
  return errs;
}

/** The pod spec fields an update may touch (everything else is immutable). */
function mutablePodView(spec: JsonObject): JsonObject {
  const s = clone(spec);
  for (const list of ['containers', 'initContainers']) {
    const cs = s[list];
    if (Array.isArray(cs)) for (const c of cs) if (isObject(c)) delete c.image;
  }
  delete s.activeDeadlineSeconds;
  delete s.tolerations;
  delete s.terminationGracePeriodSeconds;
  return s;
}

function podReady(o: JsonObject): string {
  const statuses = getIn(o, ['status', 'containerStatuses']);
  const total = Array.isArray(getIn(o, ['spec', 'containers']))
    ? (getIn(o, ['spec', 'containers']) as Json[]).length
    : 0;
  const ready = Array.isArray(statuses) ? statuses.filter((s) => isObject(s) && s.ready === true).length : 0;
  return `${ready}/${total}`;
}

const pods = builtin(
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    shortNames: ['po'],
    categories: ['all'],
    statusSubresource: true,
    returnDeletedObject: true,
    fieldLabels: {
      'spec.nodeName': (o) => str(getIn(o, ['spec', 'nodeName'])),
      'spec.restartPolicy': (o) => str(getIn(o, ['spec', 'restartPolicy'])),
      'spec.schedulerName': (o) => str(getIn(o, ['spec', 'schedulerName'])),
      'spec.serviceAccountName': (o) => str(getIn(o, ['spec', 'serviceAccountName'])),
      'spec.hostNetwork': (o) => String(getIn(o, ['spec', 'hostNetwork']) === true),
      'status.phase': (o) => str(getIn(o, ['status', 'phase'])),
      'status.podIP': (o) => str(getIn(o, ['status', 'podIP'])),
      'status.nominatedNodeName': (o) => str(getIn(o, ['status', 'nominatedNodeName'])),
    },
    prepareForCreate(obj) {
      const spec = objectOrEmpty(obj.spec);
      obj.spec = spec;
      spec.serviceAccountName ??= str(spec.serviceAccount) ?? 'default';
      spec.serviceAccount = spec.serviceAccountName;
      defaultPodSpec(spec);
      obj.status = { phase: 'Pending', qosClass: qosClass(spec) };
    },
    validate(obj, old) {
      const spec = objectOrEmpty(obj.spec);
      const errs = validateContainers(spec);
      if (old && !deepEqual(mutablePodView(spec), mutablePodView(objectOrEmpty(old.spec)))) {
        errs.push({
          type: 'Forbidden',
          field: 'spec',
          detail:
            'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        });
      }
      return errs;
    },
    admit(obj, lookup) {
      const ns = str(getIn(obj, ['metadata', 'namespace'])) ?? '';
      const sa = str(getIn(obj, ['spec', 'serviceAccountName'])) ?? 'default';
      if (!lookup.get('/serviceaccounts', ns, sa)) {
        return `error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`;
      }
      return undefined;
    },
  },
  [
    nameColumn,
    col('Ready', podReady),
    col('Status', (o) => str(getIn(o, ['status', 'phase'])) ?? ''),
    col(
      'Restarts',
      (o) => {
        const s = getIn(o, ['status', 'containerStatuses']);
        return Array.isArray(s)
          ? s.reduce<number>((n, c) => n + Number(getIn(c, ['restartCount']) ?? 0), 0)
          : 0;
      },
      0,
      'integer',
    ),
    ageColumn,
    col('IP', (o) => str(getIn(o, ['status', 'podIP'])) ?? '<none>', 1),
    col('Node', (o) => str(getIn(o, ['spec', 'nodeName'])) ?? '<none>', 1),
  ],
);

// --- Other core kinds ---------------------------------------------------------------------------

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

const services = builtin(
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
  [['spec.ports', { type: 'map', keys: ['port', 'protocol'] }]],
);

/** Every namespace carries its name as a label (NamespaceDefaultLabelName, since 1.21). */
function nameLabel(obj: JsonObject): void {
  const meta = objectOrEmpty(obj.metadata);
  meta.labels = { ...objectOrEmpty(meta.labels), 'kubernetes.io/metadata.name': meta.name ?? '' };
  obj.metadata = meta;
}

const namespaces = builtin(
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

const pvcs = builtin(
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

const secrets = builtin(
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

const configmaps = builtin(
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

const serviceaccounts = builtin(
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', shortNames: ['sa'] },
  [
    nameColumn,
    col('Secrets', (o) => (Array.isArray(o.secrets) ? o.secrets.length : 0), 0, 'integer'),
    ageColumn,
  ],
);

// --- Events: one storage, two shapes ------------------------------------------------------------

const EVENT_RENAMES: Array<[string, string]> = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
  ['reportingComponent', 'reportingController'],
];
function renameKeys(obj: JsonObject, pairs: Array<[string, string]>): JsonObject {
  const out = clone(obj);
  for (const [from, to] of pairs) {
    if (from in out) {
      out[to] = out[from] ?? null;
      delete out[from];
    }
  }
  return out;
}

const eventFieldLabels: ResourceType['fieldLabels'] = {
  'involvedObject.kind': (o) => str(getIn(o, ['involvedObject', 'kind'])),
  'involvedObject.namespace': (o) => str(getIn(o, ['involvedObject', 'namespace'])),
  'involvedObject.name': (o) => str(getIn(o, ['involvedObject', 'name'])),
  'involvedObject.uid': (o) => str(getIn(o, ['involvedObject', 'uid'])),
  'involvedObject.apiVersion': (o) => str(getIn(o, ['involvedObject', 'apiVersion'])),
  'involvedObject.resourceVersion': (o) => str(getIn(o, ['involvedObject', 'resourceVersion'])),
  'involvedObject.fieldPath': (o) => str(getIn(o, ['involvedObject', 'fieldPath'])),
  reason: (o) => str(o.reason),
  reportingComponent: (o) => str(o.reportingComponent),
  source: (o) => str(getIn(o, ['source', 'component'])),
  type: (o) => str(o.type),
};

const eventColumns = [
  col('Last Seen', (o) =>
    ageOf(o.lastTimestamp ?? o.eventTime ?? getIn(o, ['metadata', 'creationTimestamp'])),
  ),
  col('Type', (o) => str(o.type) ?? ''),
  col('Reason', (o) => str(o.reason) ?? ''),
  col(
    'Object',
    (o) =>
      `${str(getIn(o, ['involvedObject', 'kind']))?.toLowerCase() ?? ''}/${str(getIn(o, ['involvedObject', 'name'])) ?? ''}`,
  ),
  col('Message', (o) => str(o.message) ?? ''),
];

const coreEvents = builtin(
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    shortNames: ['ev'],
    storageKey: 'events',
    model: 'CoreV1Event',
    nameRule: 'path',
    allowCreateOnUpdate: true,
    fieldLabels: eventFieldLabels,
    validate(obj) {
      const ns = str(getIn(obj, ['metadata', 'namespace']));
      const ions = str(getIn(obj, ['involvedObject', 'namespace']));
      if (ions && ns && ions !== ns) {
        return [
          {
            type: 'Invalid',
            field: 'involvedObject.namespace',
            value: ions,
            detail: 'does not match event.namespace',
          },
        ];
      }
      return [];
    },
  },
  eventColumns,
);

const eventsV1: ResourceType = {
  ...coreEvents,
  group: 'events.k8s.io',
  shortNames: ['ev'],
  toView: (stored) => renameKeys(stored, EVENT_RENAMES),
  fromView: (obj) =>
    renameKeys(
      obj,
      EVENT_RENAMES.map(([a, b]) => [b, a]),
    ),
  validateView(obj) {
    const errs: FieldError[] = [];
    if (!obj.eventTime) errs.push({ type: 'Required', field: 'eventTime' });
    if (obj.type !== 'Normal' && obj.type !== 'Warning') {
      errs.push({
        type: 'Invalid',
        field: 'type',
        value: '',
        detail: `has invalid value: ${str(obj.type) ?? ''}`,
      });
    }
    for (const f of ['reportingController', 'reportingInstance', 'action', 'reason']) {
      if (!str(obj[f])) errs.push({ type: 'Required', field: f });
    }
    return errs;
  },
};

// --- Other groups -------------------------------------------------------------------------------

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

const deployments = builtin(
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

const networkpolicies = builtin(
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

const leases = builtin(
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', allowCreateOnUpdate: true },
  [nameColumn, col('Holder', (o) => str(getIn(o, ['spec', 'holderIdentity'])) ?? ''), ageColumn],
);

const rbac = (kind: string, plural: string, namespaced: boolean) =>
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind, plural, namespaced });

export function builtinTypes(): ResourceType[] {
  return [
    namespaces,
    pods,
    services,
    pvcs,
    secrets,
    configmaps,
    serviceaccounts,
    coreEvents,
    eventsV1,
    deployments,
    networkpolicies,
    leases,
    rbac('Role', 'roles', true),
    rbac('RoleBinding', 'rolebindings', true),
    rbac('ClusterRole', 'clusterroles', false),
    rbac('ClusterRoleBinding', 'clusterrolebindings', false),
  ];
}

export const builtinColumns = { nameColumn, ageColumn };
