import { describe, expect, it } from 'vitest';
import type { JsonObject } from './json.ts';
import { applyDefaults, pruneUnknown, validateAgainstSchema, validateStructural } from './schema-validate.ts';
import { fieldErrorString } from './status.ts';

const schema: JsonObject = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'integer', minimum: 1, maximum: 10 },
        mode: { type: 'string', enum: ['fast', 'slow'], default: 'slow' },
        name: { type: 'string', pattern: '^[a-z]+$', maxLength: 5 },
        ratio: { type: 'number', exclusiveMinimum: true, minimum: 0 },
        port: { 'x-kubernetes-int-or-string': true },
        nested: { type: 'object', default: {}, properties: { on: { type: 'boolean', default: true } } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        tags: { type: 'array', maxItems: 2, items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        nullable: { type: 'string', nullable: true },
        either: { type: 'string', anyOf: [{ pattern: '^a' }, { pattern: '^b' }] },
      },
    },
  },
};

const messages = (obj: JsonObject) => validateAgainstSchema(obj, schema).map(fieldErrorString);

describe('pruning', () => {
  it('drops undeclared fields and reports their paths, keeping preserved subtrees and ObjectMeta', () => {
    const obj: JsonObject = {
      apiVersion: 'x/v1',
      kind: 'W',
      metadata: { name: 'a', bogus: 1 },
      spec: { size: 1, extra: { deep: 1 }, free: { any: [1] }, labels: { k: 'v' }, tags: ['a'] },
      top: 1,
    };
    expect(pruneUnknown(obj, schema).sort()).toEqual(['metadata.bogus', 'spec.extra', 'top']);
    expect(obj).toEqual({
      apiVersion: 'x/v1',
      kind: 'W',
      metadata: { name: 'a' },
      spec: { size: 1, free: { any: [1] }, labels: { k: 'v' }, tags: ['a'] },
    });
  });
});

describe('defaulting', () => {
  it('fills absent fields (and defaults inside defaults), and replaces non-nullable nulls', () => {
    const obj: JsonObject = { spec: { size: 1, mode: null, nullable: null } };
    applyDefaults(obj, schema);
    expect(obj).toEqual({ spec: { size: 1, mode: 'slow', nested: { on: true }, nullable: null } });
  });
});

describe('validation', () => {
  it('passes a valid object', () => {
    expect(
      messages({ spec: { size: 3, mode: 'fast', name: 'abc', port: 'http', ratio: 0.5, either: 'bz' } }),
    ).toEqual([]);
  });

  it('words errors like apiextensions-apiserver', () => {
    expect(messages({ spec: {} })).toEqual(['spec.size: Required value']);
    expect(messages({ spec: { size: 0 } })).toEqual([
      'spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1',
    ]);
    expect(messages({ spec: { size: 11 } })).toEqual([
      'spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10',
    ]);
    expect(messages({ spec: { size: 1, mode: 'medium' } })).toEqual([
      'spec.mode: Unsupported value: "medium": supported values: "fast", "slow"',
    ]);
    expect(messages({ spec: { size: 'x' } })).toEqual([
      'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"',
    ]);
    expect(messages({ spec: { size: 1.5 } })).toEqual([
      'spec.size: Invalid value: "number": spec.size in body must be of type integer: "number"',
    ]);
    expect(messages({ spec: { size: 1, name: 'ABC' } })).toEqual([
      `spec.name: Invalid value: "ABC": spec.name in body should match '^[a-z]+$'`,
    ]);
    expect(messages({ spec: { size: 1, name: 'abcdef' } })).toEqual([
      'spec.name: Too long: may not be longer than 5',
    ]);
    expect(messages({ spec: { size: 1, ratio: 0 } })).toEqual([
      'spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0',
    ]);
    expect(messages({ spec: { size: 1, port: true } })).toEqual([
      'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    ]);
    expect(messages({ spec: { size: 1, labels: { a: 1 } } })).toEqual([
      'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
    ]);
    expect(messages({ spec: { size: 1, tags: ['a', 'b', 'a'] } })).toEqual([
      'spec.tags: Too many: must have at most 2 items',
      'spec.tags[2]: Duplicate value: "a"',
    ]);
    expect(messages({ spec: { size: 1, either: 'c' } })).toEqual([
      'spec.either: Invalid value: "c": spec.either in body must validate at least one schema (anyOf)',
    ]);
  });
});

describe('structural schema checks', () => {
  const p = 'spec.validation.openAPIV3Schema';
  it('accepts a structural schema', () => {
    expect(validateStructural(schema, p)).toEqual([]);
  });

  it('requires types, array items, and no properties beside additionalProperties', () => {
    const errs = validateStructural(
      {
        type: 'object',
        properties: {
          spec: {
            properties: {
              list: { type: 'array' },
              both: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
            },
          },
          bad: { type: 'string', default: 5 },
        },
      },
      p,
    ).map(fieldErrorString);
    expect(errs).toEqual([
      `${p}.properties[spec].type: Required value: must not be empty for specified object fields`,
      `${p}.properties[spec].properties[list].items: Required value: must be specified`,
      `${p}.properties[spec].properties[both].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
      `${p}.properties[bad].default: Invalid value: "integer": default in body must be of type string: "integer"`,
    ]);
  });

  it('requires an object at the root', () => {
    expect(validateStructural({ properties: {} }, p).map(fieldErrorString)).toEqual([
      `${p}.type: Required value: must not be empty at the root`,
    ]);
  });
});
