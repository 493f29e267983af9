// Reads of collections: label and field selectors (unsupported field labels are a 400, as on the
// real server), and limit/continue pagination. Pages are cut from the current state; the continue
// token remembers the first page's revision, and answers 410 once that revision is compacted.
import { getIn, objectOrEmpty, str } from './json.ts';
import type { JsonObject } from './json.ts';
import { apiVersionOf } from './resource-type.ts';
import type { ResourceType } from './resource-type.ts';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
} from './selectors.ts';
import type { FieldRequirement, LabelRequirement } from './selectors.ts';
import { errors } from './status.ts';
import type { Storage } from './storage.ts';

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface Selectors {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export function parseSelectors(t: ResourceType, q: ListQuery): Selectors {
  try {
    const labels = parseLabelSelector(q.labelSelector);
    const fields = parseFieldSelector(q.fieldSelector);
    for (const f of fields) {
      if (f.key !== 'metadata.name' && f.key !== 'metadata.namespace' && !(f.key in t.fieldLabels)) {
        // Kinds with field labels of their own convert through their own function ("field label not
        // supported"); the others through apimachinery's default conversion, which names the two it knows.
        throw errors.badRequest(
          Object.keys(t.fieldLabels).length || t.isCustom
            ? `field label not supported: ${f.key}`
            : `"${f.key}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
        );
      }
    }
    return { labels, fields };
  } catch (e) {
    if (e instanceof SelectorParseError) throw errors.badRequest(e.message);
    throw e;
  }
}

export function matchesSelectors(t: ResourceType, sel: Selectors, stored: JsonObject): boolean {
  const m = objectOrEmpty(stored.metadata);
  if (!matchesLabels(sel.labels, objectOrEmpty(m.labels))) return false;
  return matchesFields(sel.fields, (key) => {
    if (key === 'metadata.name') return str(m.name);
    if (key === 'metadata.namespace') return str(m.namespace);
    return t.fieldLabels[key]?.(stored);
  });
}

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export function listObjects(
  storage: Storage,
  view: (stored: JsonObject) => JsonObject,
  target: { type: ResourceType; version: string; namespace?: string },
  q: ListQuery,
): JsonObject {
  const t = target.type;
  const sel = parseSelectors(t, q);
  let rv = storage.currentRv();
  let start = '';
  if (q.continue) {
    const token = decodeContinue(q.continue);
    if (token.rv < storage.compactedRevision()) throw errors.expired(CONTINUE_EXPIRED);
    rv = token.rv;
    start = token.start;
  }
  const all = storage
    .list(t.storageKey, t.namespaced ? target.namespace : undefined)
    .filter((o) => matchesSelectors(t, sel, o))
    .filter((o) => !start || slotKey(o) > start);
  let items = all;
  const listMeta: JsonObject = { resourceVersion: String(rv) };
  if (q.limit && q.limit > 0 && all.length > q.limit) {
    items = all.slice(0, q.limit);
    const last = items[items.length - 1];
    if (last) listMeta.continue = encodeContinue(rv, slotKey(last));
    // The real server omits the count when selectors filter the list.
    if (!q.labelSelector && !q.fieldSelector) listMeta.remainingItemCount = all.length - items.length;
  }
  return {
    apiVersion: apiVersionOf(t.group, target.version),
    kind: t.listKind,
    metadata: listMeta,
    items: items.map((o) => {
      const v = view(o);
      // Typed lists of built-in kinds carry no apiVersion/kind per item; unstructured (CR) lists do.
      if (!t.isCustom) {
        delete v.apiVersion;
        delete v.kind;
      }
      return v;
    }),
  };
}

function slotKey(o: JsonObject): string {
  return `${str(getIn(o, ['metadata', 'namespace'])) ?? ''}/${str(getIn(o, ['metadata', 'name'])) ?? ''}`;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const o = JSON.parse(Buffer.from(token, 'base64url').toString()) as { rv?: unknown; start?: unknown };
    if (typeof o.rv === 'number' && typeof o.start === 'string') return { rv: o.rv, start: o.start };
  } catch {
    // fall through
  }
  throw errors.badRequest(`invalid continue token: ${token}`);
}
