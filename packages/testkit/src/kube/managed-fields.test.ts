import { describe, expect, it } from 'vitest';
import type { JsonObject } from './json.ts';
import {
  conflictMessage,
  decodeFieldsV1,
  encodeFieldsV1,
  managedFieldsAfterUpdate,
  serverSideApply,
} from './managed-fields.ts';
import type { TypeHints } from './resource-type.ts';

const hints: TypeHints = {
  listKind: (p) =>
    p.join('.') === 'spec.ports'
      ? { type: 'map', keys: ['name'] }
      : p.join('.') === 'spec.tags' || p.join('.') === 'metadata.finalizers'
        ? { type: 'set' }
        : { type: 'atomic' },
  mapAtomic: () => false,
};
const all = { includes: () => true };
const now = '2024-01-01T00:00:00Z';
const base = (spec: JsonObject, managedFields?: unknown): JsonObject => ({
  apiVersion: 'x.io/v1',
  kind: 'W',
  metadata: {
    name: 'w',
    namespace: 'ns',
    ...(managedFields ? { managedFields } : {}),
  } as unknown as JsonObject,
  spec,
});
/** One Update by `manager` with this file's fixed type hints, scope and clock. */
const update = (old: JsonObject | undefined, next: JsonObject, manager: string) =>
  managedFieldsAfterUpdate({ old, next, manager, apiVersion: 'x.io/v1', hints, scope: all, now });
/** One server-side apply by `manager` with this file's fixed type hints, scope and clock. */
const apply = (live: JsonObject, config: JsonObject, manager: string, force = false) =>
  serverSideApply({ live, config, manager, apiVersion: 'x.io/v1', force, hints, scope: all, now });

describe('FieldsV1', () => {
  it('round-trips fields, keyed list items and set values, marking members with "."', () => {
    const fields = {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': {
        'f:ports': { 'k:{"name":"http"}': { '.': {}, 'f:name': {}, 'f:port': {} } },
        'f:tags': { 'v:"a"': {} },
      },
    };
    expect(encodeFieldsV1(decodeFieldsV1(fields))).toEqual(fields);
  });
});

describe('Update ownership', () => {
  it('gives the writer what it added or changed, and takes it from others', () => {
    const created = base({ size: 1 });
    const mf1 = update(undefined, created, 'a');
    expect(mf1).toEqual([
      {
        manager: 'a',
        operation: 'Update',
        apiVersion: 'x.io/v1',
        time: now,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { '.': {}, 'f:size': {} } },
      },
    ]);
    const old = base({ size: 1 }, mf1);
    const next = base({ size: 2, mode: 'x' }, mf1);
    const mf2 = update(old, next, 'b');
    expect(mf2.map((e) => [(e as JsonObject).manager, (e as JsonObject).fieldsV1])).toEqual([
      ['a', { 'f:spec': {} }],
      ['b', { 'f:spec': { 'f:mode': {}, 'f:size': {} } }],
    ]);
  });

  it('resets ownership when a client writes managedFields: [{}]', () => {
    const old = base({ size: 1 }, [
      {
        manager: 'a',
        operation: 'Update',
        apiVersion: 'x.io/v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': {} },
      },
    ]);
    const next = base({ size: 1 }, [{}]);
    expect(update(old, next, 'b')).toEqual([]);
  });
});

describe('server-side apply', () => {
  const updateOwned = base({ size: 1 }, [
    {
      manager: 'writer',
      operation: 'Update',
      apiVersion: 'x.io/v1',
      time: now,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { '.': {}, 'f:size': {} } },
    },
  ]);

  it('conflicts on a changed field owned by someone else, unless forced', () => {
    const res = apply(updateOwned, base({ size: 2 }), 'me');
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.conflicts).toEqual([{ manager: '"writer" using x.io/v1', path: '.spec.size' }]);
    expect(conflictMessage(res.conflicts)).toBe(
      'Apply failed with 1 conflict: conflict with "writer" using x.io/v1: .spec.size',
    );
    const forced = apply(updateOwned, base({ size: 2 }), 'me', true);
    expect(forced.ok && forced.object.spec).toEqual({ size: 2 });
  });

  it('shares an unchanged value without conflict', () => {
    const res = apply(updateOwned, base({ size: 1 }), 'me');
    expect(res.ok).toBe(true);
  });

  it('merges keyed list items and removes what the applier no longer applies', () => {
    const one = apply(base({}), base({ ports: [{ name: 'http', port: 80 }], tags: ['a'], note: 'x' }), 'one');
    if (!one.ok) throw new Error('conflict');
    const two = apply(one.object, base({ ports: [{ name: 'https', port: 443 }], tags: ['b'] }), 'two');
    if (!two.ok) throw new Error('conflict');
    expect(two.object.spec).toEqual({
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
      tags: ['a', 'b'],
      note: 'x',
    });
    const shrink = apply(two.object, base({ ports: [{ name: 'http', port: 80 }] }), 'one');
    if (!shrink.ok) throw new Error('conflict');
    expect(shrink.object.spec).toEqual({
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
      tags: ['b'],
    });
  });
});
