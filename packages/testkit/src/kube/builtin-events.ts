// Events: core/v1 and events.k8s.io/v1 are two shapes of one stored object.
import { clone, getIn, str } from './json.ts';
import type { JsonObject } from './json.ts';
import type { ResourceType } from './resource-type.ts';
import type { FieldError } from './status.ts';
import { ageOf } from './time.ts';
import { builtin, col } from './builtin-factory.ts';

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

export const coreEvents = builtin(
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
    // metav1.MicroTime in both shapes (same names in events.k8s.io/v1).
    microTimeFields: [['eventTime'], ['series', 'lastObservedTime']],
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

export const eventsV1: ResourceType = {
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
