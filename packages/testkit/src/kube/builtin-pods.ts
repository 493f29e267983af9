// Pods: defaults, QoS class, container validation, the immutable spec, ServiceAccount admission.
import { clone, deepEqual, getIn, isObject, objectOrEmpty, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import type { FieldError } from './status.ts';
import { ageColumn, builtin, col, nameColumn } from './builtin-factory.ts';

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

export function validateContainers(spec: JsonObject): FieldError[] {
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

export const pods = builtin(
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    shortNames: ['po'],
    categories: ['all'],
    statusSubresource: true,
    returnDeletedObject: true,
    // podStrategy.CheckGracefulDelete: the requested period, else terminationGracePeriodSeconds;
    // 0 for a pod no node runs (unscheduled) or one that has ended; negative becomes 1.
    gracePeriod(obj, requested) {
      let period = requested ?? Number(getIn(obj, ['spec', 'terminationGracePeriodSeconds']) ?? 0);
      if (!str(getIn(obj, ['spec', 'nodeName']))) period = 0;
      const phase = str(getIn(obj, ['status', 'phase']));
      if (phase === 'Succeeded' || phase === 'Failed') period = 0;
      return period < 0 ? 1 : period;
    },
    // A terminating pod stays until its kubelet deletes it with grace period 0.
    deletionBlocked: (obj) => Number(getIn(obj, ['metadata', 'deletionGracePeriodSeconds']) ?? 0) > 0,
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
