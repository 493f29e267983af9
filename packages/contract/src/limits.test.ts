import { describe, expect, it } from 'vitest';
import {
  CLEAN_ABSOLUTE_PATH_PATTERN,
  MOUNT_PATH_DENY,
  labelValueProblem,
  mountPathCelRule,
  mountPathProblem,
  qualifiedKeyProblem,
  utf8Bytes,
} from './limits.ts';

describe('mountPathProblem', () => {
  it('refuses every denied directory and what lies below the tree entries', () => {
    for (const p of MOUNT_PATH_DENY.exact) expect(mountPathProblem(p)).toBeDefined();
    for (const p of MOUNT_PATH_DENY.tree) {
      expect(mountPathProblem(p)).toBeDefined();
      expect(mountPathProblem(`${p}/below`)).toBeDefined();
    }
  });

  it('allows siblings that only share a prefix, and subdirectories of exact entries', () => {
    for (const p of [
      '/etcetera',
      '/usrdata',
      '/procs',
      '/var/lib/x',
      '/opt/app',
      '/tmpfiles',
      '/workspace',
    ]) {
      expect(mountPathProblem(p), p).toBeUndefined();
    }
  });

  it('refuses paths that are not clean and absolute', () => {
    for (const p of [
      '',
      'rel',
      '/a/',
      '//a',
      '/a//b',
      '/.',
      '/..',
      '/a/./b',
      '/a/../b',
      '/a b',
      '/a\n',
      `/${'a'.repeat(300)}`,
    ]) {
      expect(mountPathProblem(p), JSON.stringify(p)).toBeDefined();
    }
  });

  it('the RE2 pattern (used by the CRD) agrees with the check on dot components', () => {
    const re = new RegExp(CLEAN_ABSOLUTE_PATH_PATTERN);
    expect(['/.a', '/..a', '/...', '/a.b/c'].every((p) => re.test(p))).toBe(true);
    expect(['/.', '/..', '/a/.', '/a/..'].some((p) => re.test(p))).toBe(false);
  });

  it('the CEL rule lists the same directories as the table', () => {
    const rule = mountPathCelRule();
    for (const p of [...MOUNT_PATH_DENY.exact, ...MOUNT_PATH_DENY.tree]) expect(rule).toContain(`'${p}'`);
  });
});

describe('Kubernetes label and annotation rules', () => {
  it.each(['app', 'app.kubernetes.io/name', 'a_b-c.d', 'x'.repeat(63), `${'d'.repeat(253)}/n`])(
    'key %s is fine',
    (k) => expect(qualifiedKeyProblem(k)).toBeUndefined(),
  );
  it.each([
    '',
    'bad key!',
    '-a',
    'a-',
    'a/b/c',
    '/a',
    'a/',
    'Upper.Case/x',
    'x'.repeat(64),
    `${'d'.repeat(254)}/n`,
  ])('key %j is refused', (k) => expect(qualifiedKeyProblem(k)).toBeDefined());
  it('label values: up to 63 characters of the allowed set, or empty', () => {
    expect(labelValueProblem('')).toBeUndefined();
    expect(labelValueProblem('a'.repeat(63))).toBeUndefined();
    expect(labelValueProblem('a'.repeat(64))).toBeDefined();
    expect(labelValueProblem('a b')).toBeDefined();
    expect(labelValueProblem('-a')).toBeDefined();
  });
});

describe('utf8Bytes', () => {
  it('counts bytes as UTF-8 encodes them', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a€😀b', '\ud800']) {
      expect(utf8Bytes(s), s).toBe(new TextEncoder().encode(s).length);
    }
  });
});
