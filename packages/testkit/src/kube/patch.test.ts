import { describe, expect, it } from 'vitest';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  decodeJsonPatch,
  PatchApplyError,
} from './patch.ts';
import { COMMON_LIST_HINTS, suffixHints } from './resource-type.ts';
import { KubeError } from './status.ts';
import type { JsonObject } from './json.ts';

const hints = suffixHints(COMMON_LIST_HINTS);

describe('JSON patch (RFC 6902)', () => {
  it('applies add, remove, replace, move, copy and test', () => {
    const doc = { a: { b: 1 }, list: [1, 2] };
    const out = applyJsonPatch(doc, [
      { op: 'test', path: '/a/b', value: 1 },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'add', path: '/list/0', value: 0 },
      { op: 'replace', path: '/a/b', value: 2 },
      { op: 'copy', from: '/a', path: '/c' },
      { op: 'move', from: '/c/b', path: '/d' },
      { op: 'remove', path: '/list/1' },
      { op: 'add', path: '/e~1f', value: true },
    ]);
    expect(out).toEqual({ a: { b: 2 }, list: [0, 2, 3], c: {}, d: 2, 'e/f': true });
    expect(doc).toEqual({ a: { b: 1 }, list: [1, 2] });
  });

  it('fails a test op and operations on missing paths', () => {
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(
      'testing value /a failed',
    );
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 2 }])).toThrow(
      PatchApplyError,
    );
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'remove', path: '/b/c' }])).toThrow(PatchApplyError);
  });

  it('rejects a body that is not a list of operations with the apiserver 400', () => {
    expect(() => decodeJsonPatch({ spec: {} })).toThrow(KubeError);
    try {
      decodeJsonPatch({ spec: {} });
    } catch (e) {
      expect((e as KubeError).code).toBe(400);
      expect((e as KubeError).message).toBe(
        'json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp',
      );
    }
  });
});

describe('merge patch (RFC 7386)', () => {
  it('merges objects, replaces lists and deletes with null', () => {
    expect(
      applyMergePatch({ a: { b: 1, c: 2 }, l: [1], x: 1 }, { a: { c: null, d: 3 }, l: [2], x: null }),
    ).toEqual({
      a: { b: 1, d: 3 },
      l: [2],
    });
  });
});

describe('strategic merge patch', () => {
  const pod: JsonObject = {
    metadata: { finalizers: ['a'] },
    spec: {
      containers: [
        { name: 'app', image: 'v1', env: [{ name: 'A', value: '1' }] },
        { name: 'side', image: 's1' },
      ],
      tolerations: [{ key: 'x' }],
    },
  };

  it('merges keyed lists, unions finalizers and replaces atomic lists', () => {
    const out = applyStrategicMergePatch(
      pod,
      {
        metadata: { finalizers: ['b'] },
        spec: {
          containers: [{ name: 'app', image: 'v2', env: [{ name: 'B', value: '2' }] }],
          tolerations: [{ key: 'y' }],
        },
      },
      hints,
    );
    expect(out).toEqual({
      metadata: { finalizers: ['a', 'b'] },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'v2',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
          { name: 'side', image: 's1' },
        ],
        tolerations: [{ key: 'y' }],
      },
    });
  });

  it('honours $patch: delete, $patch: replace, $deleteFromPrimitiveList and $setElementOrder', () => {
    const out = applyStrategicMergePatch(
      pod,
      {
        metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
        spec: {
          '$setElementOrder/containers': [{ name: 'app' }],
          containers: [{ name: 'side', $patch: 'delete' }],
        },
      },
      hints,
    );
    expect(out).toEqual({
      metadata: { finalizers: [] },
      spec: {
        containers: [{ name: 'app', image: 'v1', env: [{ name: 'A', value: '1' }] }],
        tolerations: [{ key: 'x' }],
      },
    });
    const replaced = applyStrategicMergePatch(pod, { spec: { $patch: 'replace', containers: [] } }, hints);
    expect(replaced).toEqual({ metadata: { finalizers: ['a'] }, spec: { containers: [] } });
  });
});
