/**
 * The archive walker and its tar: long names and link targets (pax records) read back by GNU tar,
 * links recorded and never followed, special files left out, a directory through a link out of the
 * roots refused, and trees over the caps refused before any byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxdError } from '../errors.ts';
import { archiveStream, planArchive } from './archive.ts';
import { PathPolicy } from './paths.ts';

let root: string;
let policy: PathPolicy;
const limits = { maxBytes: 1024 * 1024, maxEntries: 1000 };
const longDir = 'd'.repeat(90);
const longFile = `${'f'.repeat(120)}.txt`;
const longTarget = `${longDir}/${longFile}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sbd-archive-'));
  const w = join(root, 'w');
  await mkdir(join(w, 'd', longDir), { recursive: true });
  await writeFile(join(w, 'd', 'small.txt'), 'hello');
  await writeFile(join(w, 'd', longDir, longFile), 'deep');
  await symlink(longTarget, join(w, 'd', 'long-link'));
  await symlink('/', join(w, 'd', 'root'));
  await symlink('/', join(w, 'r'));
  spawnSync('mkfifo', [join(w, 'd', 'fifo')]);
  await mkdir(join(w, 'big'));
  await writeFile(join(w, 'big', 'f'), Buffer.alloc(limits.maxBytes + 1));
  policy = new PathPolicy([w]);
});

afterAll(() => rm(root, { recursive: true, force: true }));

async function tarOf(path: string): Promise<Buffer> {
  const plan = await planArchive(policy, path, limits);
  const chunks: Buffer[] = [];
  for await (const c of archiveStream(plan)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function gnuTar(args: string[], input: Buffer): string {
  const r = spawnSync('tar', args, { input });
  expect(r.status, r.stderr.toString()).toBe(0);
  return r.stdout.toString();
}

describe('directory archives', () => {
  it('keeps a file whose name ends in " (deleted)" (how /proc names a removed file)', async () => {
    const dir = join(root, 'w', 'odd');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'x (deleted)'), 'still here');
    const tar = await tarOf(dir);
    expect(gnuTar(['-xO', 'odd/x (deleted)'], tar)).toBe('still here');
  });

  it('writes a tar GNU tar reads back, long names and link targets included', async () => {
    const tar = await tarOf(join(root, 'w', 'd'));
    const names = gnuTar(['-t'], tar).trim().split('\n').sort();
    expect(names).toEqual(
      ['d/', `d/${longDir}/`, `d/${longDir}/${longFile}`, 'd/long-link', 'd/root', 'd/small.txt'].sort(),
    );
    expect(gnuTar(['-xO', `d/${longDir}/${longFile}`], tar)).toBe('deep');
    expect(gnuTar(['-xO', 'd/small.txt'], tar)).toBe('hello');
    const verbose = gnuTar(['-tv'], tar);
    expect(verbose).toContain(`d/long-link -> ${longTarget}`);
    // Recorded as a link, never followed: the router decides whether it may stay.
    expect(verbose).toContain('d/root -> /');
  });

  it('refuses a directory reached through a link out of the roots', async () => {
    await expect(planArchive(policy, join(root, 'w', 'r', 'etc'), limits)).rejects.toMatchObject({
      code: 'outside_allowed_roots',
    });
  });

  it('refuses a tree over the byte or entry cap before any byte', async () => {
    const err = await planArchive(policy, join(root, 'w', 'big'), limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxdError);
    expect(err).toMatchObject({ code: 'too_large' });
    await expect(
      planArchive(policy, join(root, 'w', 'd'), { maxBytes: limits.maxBytes, maxEntries: 3 }),
    ).rejects.toMatchObject({ code: 'too_large' });
  });
});
