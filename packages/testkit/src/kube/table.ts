// Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which is how
// kubectl gets the columns of `kubectl get`: built-in printers for built-in kinds and
// additionalPrinterColumns (default: Age) for custom resources.
import { getIn, isObject } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import type { PrinterColumn, ResourceType } from './resource-type.ts';
import { ageOf } from './time.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Evaluates the simple JSONPath subset CRD columns use (`.a.b`, `[0]`, `[*]`, `[?(@.k=="v")]`). */
export function evalJsonPath(obj: Json, expr: string): Json[] {
  let path = expr.trim();
  if (path.startsWith('{') && path.endsWith('}')) path = path.slice(1, -1);
  if (path.startsWith('$')) path = path.slice(1);
  let cur: Json[] = [obj];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      let j = i + 1;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      const key = path.slice(i + 1, j);
      cur = cur.flatMap((v) => (isObject(v) && v[key] !== undefined ? [v[key] as Json] : []));
      i = j;
    } else if (c === '[') {
      const end = path.indexOf(']', i);
      if (end < 0) return [];
      const inner = path.slice(i + 1, end);
      i = end + 1;
      if (inner === '*') {
        cur = cur.flatMap((v) => (Array.isArray(v) ? v : isObject(v) ? Object.values(v) : []));
      } else if (/^-?\d+$/.test(inner)) {
        const n = Number(inner);
        cur = cur.flatMap((v) => (Array.isArray(v) && v.at(n) !== undefined ? [v.at(n) as Json] : []));
      } else if (/^'.*'$/.test(inner)) {
        const key = inner.slice(1, -1);
        cur = cur.flatMap((v) => (isObject(v) && v[key] !== undefined ? [v[key] as Json] : []));
      } else {
        const m = /^\?\(@\.([\w.]+)\s*==\s*["'](.*)["']\)$/.exec(inner);
        if (!m) return [];
        const [, field = '', want] = m;
        cur = cur.flatMap((v) =>
          Array.isArray(v) ? v.filter((x) => String(getIn(x, field.split('.')) ?? '') === want) : [],
        );
      }
    } else {
      return [];
    }
  }
  return cur;
}

function cellFor(col: PrinterColumn, stored: JsonObject, view: JsonObject): Json {
  if (col.cell) return col.cell(stored);
  const results = evalJsonPath(view, col.jsonPath ?? '');
  const v = results[0];
  if (v === undefined) return null;
  switch (col.type) {
    case 'date':
      return ageOf(v);
    case 'integer':
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    default:
      return typeof v === 'string' ? v : JSON.stringify(v);
  }
}

export function toTable(
  t: ResourceType,
  version: string,
  items: Array<{ stored: JsonObject; view: JsonObject }>,
  listMeta: JsonObject,
  include: IncludeObject,
): JsonObject {
  const cols = t.printerColumns(version);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: cols.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
    rows: items.map(({ stored, view }) => {
      const row: JsonObject = { cells: cols.map((c) => cellFor(c, stored, view)) };
      if (include === 'Object') row.object = view;
      else if (include === 'Metadata') {
        row.object = {
          kind: 'PartialObjectMetadata',
          apiVersion: 'meta.k8s.io/v1',
          metadata: view.metadata ?? {},
        };
      }
      return row;
    }),
  };
}
