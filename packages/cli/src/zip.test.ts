import { lstat, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeZip, scratch } from './test-helpers.ts';
import { extractZip, readZipEntries } from './zip.ts';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await scratch());
});
afterEach(() => cleanup());

async function zipFile(entries: Parameters<typeof makeZip>[0]): Promise<string> {
  const path = join(dir, 'in.zip');
  await writeFile(path, makeZip(entries));
  return path;
}

describe('extractZip', () => {
  it('unpacks stored, deflated and data-descriptor entries with modes', async () => {
    const big = 'x'.repeat(200_000);
    const zip = await zipFile([
      { name: 'src/' },
      { name: 'src/a.txt', data: 'hello\n' },
      { name: 'src/run.sh', data: '#!/bin/sh\n', mode: 0o100755, store: true },
      { name: 'src/deep/big.txt', data: big, descriptor: true },
      { name: 'src/empty', data: '' },
    ]);
    const out = join(dir, 'out');
    const r = await extractZip(zip, out);
    expect(r).toMatchObject({ files: 4, directories: 1, skipped: [] });
    expect(await readFile(join(out, 'src/a.txt'), 'utf8')).toBe('hello\n');
    expect(await readFile(join(out, 'src/deep/big.txt'), 'utf8')).toBe(big);
    expect((await stat(join(out, 'src/run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(out, 'src/empty'))).size).toBe(0);
  });

  it('strips a single top-level directory of the expected name only', async () => {
    const zip = await zipFile([{ name: 'proj/' }, { name: 'proj/a.txt', data: 'a' }]);
    await extractZip(zip, join(dir, 'o1'), { stripTopDir: 'proj' });
    expect(await readdir(join(dir, 'o1'))).toEqual(['a.txt']);
    await extractZip(zip, join(dir, 'o2'), { stripTopDir: 'other' });
    expect(await readdir(join(dir, 'o2'))).toEqual(['proj']);
  });

  it('refuses entries and symlinks that escape the destination', async () => {
    const zip = await zipFile([
      { name: '../evil.txt', data: 'x' },
      { name: 'a/../../evil2.txt', data: 'x' },
      { name: 'ok.txt', data: 'fine' },
      { name: 'inside', data: 'ok.txt', mode: 0o120777 },
      { name: 'outside', data: '../../etc/passwd', mode: 0o120777 },
      { name: 'abs', data: '/etc/passwd', mode: 0o120777 },
    ]);
    const out = join(dir, 'out');
    const r = await extractZip(zip, out);
    expect(r.skipped).toEqual([
      '../evil.txt',
      'a/../../evil2.txt',
      'outside -> ../../etc/passwd',
      'abs -> /etc/passwd',
    ]);
    expect((await readdir(out)).sort()).toEqual(['inside', 'ok.txt']);
    expect((await lstat(join(out, 'inside'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(out, 'inside'))).toBe('ok.txt');
    expect(await readdir(dir)).not.toContain('evil.txt');
  });

  it('detects a corrupted entry', async () => {
    const zip = await zipFile([{ name: 'a.txt', data: 'hello', badCrc: true }]);
    await expect(extractZip(zip, join(dir, 'out'))).rejects.toThrow(/checksum mismatch in a.txt/);
  });

  it('rejects a file that is not a zip', async () => {
    const path = join(dir, 'bad.zip');
    await writeFile(path, 'not a zip at all');
    await expect(readZipEntries(path)).rejects.toThrow(/damaged/);
  });
});
