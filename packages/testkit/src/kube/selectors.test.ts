import { describe, expect, it } from 'vitest';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
} from './selectors.ts';

describe('label selectors', () => {
  const match = (sel: string, labels: Record<string, string>) =>
    matchesLabels(parseLabelSelector(sel), labels);

  it('parses equality, set-based, existence and numeric requirements', () => {
    expect(parseLabelSelector('a=b, c!=d,e in (f, g),h notin (i),j,!k,l>3')).toEqual([
      { key: 'a', op: 'in', values: ['b'] },
      { key: 'c', op: 'notin', values: ['d'] },
      { key: 'e', op: 'in', values: ['f', 'g'] },
      { key: 'h', op: 'notin', values: ['i'] },
      { key: 'j', op: 'exists' },
      { key: 'k', op: 'notexists' },
      { key: 'l', op: 'gt', value: 3 },
    ]);
  });

  it('matches like the apiserver', () => {
    expect(match('app=web', { app: 'web' })).toBe(true);
    expect(match('app==web', { app: 'db' })).toBe(false);
    expect(match('app!=web', {})).toBe(true);
    expect(match('tier notin (db)', {})).toBe(true);
    expect(match('tier in (db)', {})).toBe(false);
    expect(match('!tier', { tier: 'x' })).toBe(false);
    expect(match('example.com/role', { 'example.com/role': '' })).toBe(true);
    expect(match('n<5', { n: '4' })).toBe(true);
    expect(match('', { anything: 'x' })).toBe(true);
  });

  it('rejects malformed selectors', () => {
    for (const bad of ['a in (b', 'a=b,', '=b', 'a in b', 'a=b c', 'bad key=1', 'a=in valid']) {
      expect(() => parseLabelSelector(bad), bad).toThrow(SelectorParseError);
    }
  });
});

describe('field selectors', () => {
  it('parses =, == and != with escapes', () => {
    expect(parseFieldSelector('metadata.name=a,status.phase!=Running,spec.x==y\\,z')).toEqual([
      { key: 'metadata.name', op: '=', value: 'a' },
      { key: 'status.phase', op: '!=', value: 'Running' },
      { key: 'spec.x', op: '=', value: 'y,z' },
    ]);
    expect(() => parseFieldSelector('metadata.name')).toThrow(SelectorParseError);
  });

  it('treats a missing field as the empty string', () => {
    const get = (k: string) => ({ 'metadata.name': 'a' })[k];
    expect(matchesFields(parseFieldSelector('metadata.name=a'), get)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.nodeName='), get)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.nodeName!='), get)).toBe(false);
  });
});
