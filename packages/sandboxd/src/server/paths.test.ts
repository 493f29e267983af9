import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SandboxdError } from '../errors.ts';
import { PathPolicy } from './paths.ts';

let base: string;
let root: string;
let outside: string;
let policy: PathPolicy;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof SandboxdError ? err.code : `unexpected: ${String(err)}`;
  }
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sandboxd-paths-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(join(root, 'dir'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'x');
  await writeFile(join(root, 'dir', 'file'), 'y');
  await symlink(outside, join(root, 'escape'));
  await symlink(join(outside, 'secret'), join(root, 'secret-link'));
  await symlink(join(outside, 'missing-dir'), join(root, 'dangling'));
  await symlink('dir/file', join(root, 'inner-link'));
  policy = new PathPolicy([root]);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('PathPolicy', () => {
  it('rejects relative, empty and NUL paths', async () => {
    expect(await code(policy.resolve('relative/x', true))).toBe('invalid_path');
    expect(await code(policy.resolve('', true))).toBe('invalid_path');
    expect(await code(policy.resolve(`${root}/a\0b`, true))).toBe('invalid_path');
    expect(await code(policy.resolve(42, true))).toBe('invalid_path');
  });

  it('resolves .. lexically before checking the roots', async () => {
    expect(await code(policy.resolve(`${root}/../outside/secret`, true))).toBe('outside_allowed_roots');
    expect(await code(policy.resolve(`${root}/dir/../../root/dir/file`, true))).toBe('ok');
    expect((await policy.resolve(`${root}/dir/./../dir/file`, true)).display).toBe(`${root}/dir/file`);
    expect(await code(policy.resolve('/etc/passwd', true))).toBe('outside_allowed_roots');
    expect(await code(policy.resolve(`${root}-sibling/x`, true))).toBe('outside_allowed_roots');
  });

  it('does not let symlinks escape', async () => {
    expect(await code(policy.resolve(`${root}/escape/secret`, true))).toBe('outside_allowed_roots');
    expect(await code(policy.resolve(`${root}/escape`, true))).toBe('outside_allowed_roots');
    expect(await code(policy.resolve(`${root}/secret-link`, true))).toBe('outside_allowed_roots');
    // creating through a dangling link must not land outside either
    expect(await code(policy.resolve(`${root}/dangling/new-file`, true))).toBe('outside_allowed_roots');
    expect(await code(policy.resolve(`${root}/dangling`, true))).toBe('outside_allowed_roots');
  });

  it('acts on the link itself when not following the last component', async () => {
    const r = await policy.resolve(`${root}/secret-link`, false);
    expect(r.real).toBe(join(root, 'secret-link'));
    expect(await code(policy.resolve(`${root}/escape/secret`, false))).toBe('outside_allowed_roots');
  });

  it('follows links that stay inside', async () => {
    expect((await policy.resolve(`${root}/inner-link`, true)).real).toBe(join(root, 'dir', 'file'));
    expect((await policy.resolve(`${root}/dir/not/yet/there`, true)).real).toBe(
      join(root, 'dir/not/yet/there'),
    );
  });
});
