import { describe, expect, it } from 'vitest';
import { isPlatformError } from '@agenttier/contract';
import { MAX_PATH_LENGTH, confinePath, safeFilename } from './paths.ts';

const ROOTS = ['/workspace', '/tmp'] as const;

function refusal(raw: string, roots: readonly string[] = ROOTS) {
  try {
    confinePath(raw, roots);
  } catch (err) {
    if (isPlatformError(err)) return { code: err.code, status: err.status, message: err.message };
    throw err;
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
}

describe('confinePath', () => {
  it.each([
    ['/workspace', '/workspace'],
    ['/workspace/', '/workspace'],
    ['/workspace/notes.txt', '/workspace/notes.txt'],
    ['/workspace//a///b/', '/workspace/a/b'],
    ['/workspace/./a', '/workspace/a'],
    ['/tmp', '/tmp'],
    ['/tmp/x', '/tmp/x'],
    ['/workspace/...', '/workspace/...'],
    ['/workspace/..hidden', '/workspace/..hidden'],
    ['/workspace/a..b', '/workspace/a..b'],
    ['/workspace/with space/ünïcödé', '/workspace/with space/ünïcödé'],
    ["/workspace/it's", "/workspace/it's"],
  ])('accepts %j as %j', (raw, clean) => {
    expect(confinePath(raw, ROOTS)).toBe(clean);
  });

  it.each([
    ['empty', '', /required/],
    ['relative', 'workspace/a', /absolute/],
    ['a ".." segment', '/workspace/../etc/passwd', /"\.\."/],
    ['a trailing ".."', '/workspace/..', /"\.\."/],
    ['a ".." that stays inside', '/workspace/a/../b', /"\.\."/],
    ['NUL', '/workspace/a\u0000b', /disallowed/],
    ['LF', '/workspace/a\nb', /disallowed/],
    ['CR', '/workspace/a\rb', /disallowed/],
    ['TAB', '/workspace/a\tb', /disallowed/],
    ['ESC', '/workspace/a\u001bb', /disallowed/],
    ['DEL', '/workspace/a\u007fb', /disallowed/],
    ['backslash', '/workspace/a\\..\\b', /disallowed/],
    ['too long', `/workspace/${'a'.repeat(MAX_PATH_LENGTH)}`, /longer than/],
  ])('refuses %s with 400 BAD_REQUEST', (_why, raw, message) => {
    expect(refusal(raw)).toMatchObject({
      code: 'BAD_REQUEST',
      status: 400,
      message: expect.stringMatching(message),
    });
  });

  it.each([
    ['/'],
    ['/etc/passwd'],
    ['/workspace2'],
    ['/workspacex/a'],
    ['/tmpfile'],
    ['/proc/self/environ'],
    ['//etc'],
    ['/home/sandbox/.ssh/id_rsa'],
  ])('refuses %j outside the roots with 403 FORBIDDEN', (raw) => {
    expect(refusal(raw)).toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
      message: expect.stringMatching(/outside/),
    });
  });

  it('uses the roots it is given', () => {
    expect(confinePath('/data/x', ['/data', '/tmp'])).toBe('/data/x');
    expect(refusal('/workspace/x', ['/data', '/tmp']).code).toBe('FORBIDDEN');
  });

  it('accepts a path of exactly the maximum length', () => {
    const raw = `/workspace/${'a'.repeat(MAX_PATH_LENGTH - '/workspace/'.length)}`;
    expect(raw).toHaveLength(MAX_PATH_LENGTH);
    expect(confinePath(raw, ROOTS)).toBe(raw);
  });
});

describe('safeFilename', () => {
  it.each([
    ['/workspace/notes.txt', 'notes.txt'],
    ['/workspace/my file (1).txt', 'my_file__1_.txt'],
    ['/workspace/a"b;c', 'a_b_c'],
    ['/workspace/ünï.txt', '_n_.txt'],
    ['/workspace', 'workspace'],
    ['/', 'file'],
  ])('turns %j into %j', (path, name) => {
    expect(safeFilename(path)).toBe(name);
  });

  it('falls back for names that are only dots', () => {
    expect(safeFilename('/workspace/..', 'x')).toBe('x');
    expect(safeFilename('/workspace/.', 'x')).toBe('x');
  });
});
