/**
 * The zip comes from a sandbox: hostile archives (zip-slip, absolute names, links then writes through
 * them, link chains, names given twice, lying sizes) against a scratch directory. Nothing may appear
 * outside the destination, and nothing may be written through a link on disk.
 */
import { lstat, mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeZip, scratch } from './testing/run-cli.ts';
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

const LINK = 0o120777;

/** Everything under the scratch dir except the zip and the destination: must stay empty. */
async function outside(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n !== 'in.zip' && n !== 'out').sort();
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
    expect((await readdir(join(out, 'src'))).filter((n) => n.includes('agenttier-cp'))).toEqual([]);
  });

  it('strips a single top-level directory of the expected name only', async () => {
    const zip = await zipFile([{ name: 'proj/' }, { name: 'proj/a.txt', data: 'a' }]);
    await extractZip(zip, join(dir, 'o1'), { stripTopDir: 'proj' });
    expect(await readdir(join(dir, 'o1'))).toEqual(['a.txt']);
    await extractZip(zip, join(dir, 'o2'), { stripTopDir: 'other' });
    expect(await readdir(join(dir, 'o2'))).toEqual(['proj']);
  });

  it('refuses zip-slip, absolute, drive-letter and backslash names', async () => {
    const zip = await zipFile([
      { name: '../evil.txt', data: 'x' },
      { name: 'a/../../evil2.txt', data: 'x' },
      { name: '/tmp/evil3.txt', data: 'x' },
      { name: 'C:/evil4.txt', data: 'x' },
      { name: '..\\evil5.txt', data: 'x' },
      { name: 'ok.txt', data: 'fine' },
    ]);
    const r = await extractZip(zip, join(dir, 'out'));
    expect(r.skipped).toHaveLength(5);
    expect(await readdir(join(dir, 'out'))).toEqual(['ok.txt']);
    expect(await outside()).toEqual([]);
  });

  it('makes only links that resolve inside, through chains, in any order', async () => {
    const zip = await zipFile([
      { name: 'good2', data: 'good', mode: LINK },
      { name: 'good', data: 'sub/f', mode: LINK },
      { name: 'sub/f', data: 'inner' },
      { name: 'l1', data: '..', mode: LINK },
      { name: 'l2', data: 'l1/..', mode: LINK },
      { name: 'l3', data: 'sub/../..', mode: LINK },
      { name: 'abs', data: '/etc/passwd', mode: LINK },
      { name: 'proc', data: '/proc/self/root', mode: LINK },
      { name: 'dangling', data: 'nowhere', mode: LINK },
    ]);
    const out = join(dir, 'out');
    const r = await extractZip(zip, out);
    expect((await readdir(out)).sort()).toEqual(['good', 'good2', 'sub']);
    expect(await readlink(join(out, 'good2'))).toBe('good');
    expect(await readFile(join(out, 'good2'), 'utf8')).toBe('inner');
    expect(r.symlinks).toBe(2);
    expect(r.skipped).toHaveLength(6);
  });

  it('never writes through a link from the archive: link then a file below it', async () => {
    const zip = await zipFile([
      { name: 'l', data: '..', mode: LINK },
      { name: 'l/evil.txt', data: 'x' },
      { name: 'm', data: 'sub', mode: LINK },
      { name: 'sub/' },
      { name: 'm/x', data: 'x' },
    ]);
    const out = join(dir, 'out');
    await extractZip(zip, out);
    expect(await outside()).toEqual([]);
    // `l` and `m` became plain directories holding the files; the links were refused (place taken).
    expect((await lstat(join(out, 'l'))).isDirectory()).toBe(true);
    expect(await readFile(join(out, 'l/evil.txt'), 'utf8')).toBe('x');
    expect(await readdir(join(out, 'sub'))).toEqual([]);
  });

  it('never writes through a link already on disk (a second cp into the same directory)', async () => {
    const out = join(dir, 'out');
    await mkdir(out);
    await symlink('..', join(out, 'l1'));
    await symlink('l1/..', join(out, 'l2'));
    await writeFile(join(dir, 'victim.txt'), 'original');
    await symlink('../victim.txt', join(out, 'f'));
    const zip = await zipFile([
      { name: 'l1/evil.txt', data: 'x' },
      { name: 'l2/evil.txt', data: 'x' },
      { name: 'l1/' },
      { name: 'f', data: 'replaced' },
    ]);
    const r = await extractZip(zip, out);
    expect(r.skipped).toHaveLength(3);
    expect((await outside()).filter((n) => n !== 'victim.txt')).toEqual([]);
    expect(await readFile(join(dir, 'victim.txt'), 'utf8')).toBe('original');
    // The file replaced the link itself.
    expect((await lstat(join(out, 'f'))).isFile()).toBe(true);
    expect(await readFile(join(out, 'f'), 'utf8')).toBe('replaced');
  });

  it('takes the first of two entries with the same name', async () => {
    const zip = await zipFile([
      { name: 'a.txt', data: 'first' },
      { name: 'a.txt', data: 'second' },
      { name: 'a.txt', data: 'sub', mode: LINK },
    ]);
    const r = await extractZip(zip, join(dir, 'out'));
    expect(await readFile(join(dir, 'out/a.txt'), 'utf8')).toBe('first');
    expect(r.skipped).toHaveLength(2);
  });

  it('refuses archives that declare more than the limit before writing anything', async () => {
    const zip = await zipFile([
      { name: 'a', data: 'x', declaredSize: 0xfffffff0 },
      { name: 'b', data: 'x' },
    ]);
    await expect(extractZip(zip, join(dir, 'out'), { maxBytes: 1024 * 1024 })).rejects.toThrow(
      /declares more than/,
    );
    await expect(readdir(join(dir, 'out'))).rejects.toThrow();
  });

  it('stops an entry that inflates past its declared size (a zip bomb)', async () => {
    const zip = await zipFile([{ name: 'bomb', data: Buffer.alloc(10 * 1024 * 1024), declaredSize: 1024 }]);
    await expect(extractZip(zip, join(dir, 'out'))).rejects.toThrow(/damaged/);
    expect(await readdir(join(dir, 'out'))).toEqual([]);
  });

  it('refuses more entries than the limit', async () => {
    const zip = await zipFile(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data: '' })));
    await expect(extractZip(zip, join(dir, 'out'), { maxEntries: 10 })).rejects.toThrow(/20 entries/);
  });

  it('detects a corrupted entry', async () => {
    const zip = await zipFile([{ name: 'a.txt', data: 'hello', badCrc: true }]);
    await expect(extractZip(zip, join(dir, 'out'))).rejects.toThrow(/damaged/);
  });

  it('rejects a file that is not a zip', async () => {
    const path = join(dir, 'bad.zip');
    await writeFile(path, 'not a zip at all');
    await expect(readZipEntries(path)).rejects.toThrow(/damaged/);
  });
});
