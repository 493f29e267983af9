/**
 * The folder walker with entries shaped like Chromium's FileSystemEntry objects (readEntries in
 * batches, then an empty batch), since a test cannot make the browser hand over a real folder.
 */
import { describe, expect, it } from 'vitest';
import { DropRefused, walkDrop, type DropEntry } from './folder-drop.ts';

type Node = string | { [name: string]: Node };

/** A fake entry tree: a string is a file's contents, an object a folder. */
function entry(name: string, node: Node, batch = 2): DropEntry {
  if (typeof node === 'string') {
    return {
      isFile: true,
      isDirectory: false,
      name,
      file: (ok: (f: File) => void) => queueMicrotask(() => ok(new File([node], name))),
    } as DropEntry;
  }
  const children = Object.entries(node).map(([n, v]) => entry(n, v, batch));
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader: () => {
      let at = 0;
      return {
        readEntries: (ok: (e: DropEntry[]) => void) =>
          queueMicrotask(() => {
            ok(children.slice(at, at + batch));
            at += batch;
          }),
      };
    },
  } as DropEntry;
}

describe('walkDrop', () => {
  it('walks folders in every batch readEntries gives, files with paths relative to the drop', async () => {
    const tree = await walkDrop([
      entry('proj', { 'a.txt': 'A', src: { 'b.py': 'BB', 'c.py': 'CCC', deep: { 'd.md': 'D' } }, empty: {} }),
      entry('loose.txt', 'L'),
    ]);
    expect(tree.dirs).toEqual(['proj', 'proj/src', 'proj/src/deep', 'proj/empty']);
    expect(tree.files.map((f) => f.path)).toEqual([
      'proj/a.txt',
      'proj/src/b.py',
      'proj/src/c.py',
      'proj/src/deep/d.md',
      'loose.txt',
    ]);
    expect(tree.totalBytes).toBe(8);
    expect(await tree.files[2]!.file.text()).toBe('CCC');
  });

  it('refuses the whole drop past the file count, before anything is uploaded', async () => {
    const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}`, 'x']));
    await expect(
      walkDrop([entry('big', many)], { maxFiles: 5, maxTotalBytes: 1e9, maxDepth: 32 }),
    ).rejects.toThrow(/more than 5 files: drop fewer at a time, or upload a zip/);
  });

  it('refuses past the total size and past the depth (a link loop ends there)', async () => {
    await expect(
      walkDrop([entry('d', { a: 'x'.repeat(600), b: 'y'.repeat(600) })], {
        maxFiles: 10,
        maxTotalBytes: 1000,
        maxDepth: 32,
      }),
    ).rejects.toBeInstanceOf(DropRefused);
    let deep: Node = { leaf: 'x' };
    for (let i = 0; i < 5; i++) deep = { [`l${i}`]: deep };
    await expect(
      walkDrop([entry('top', deep)], { maxFiles: 10, maxTotalBytes: 1e9, maxDepth: 3 }),
    ).rejects.toThrow(/nested more than 3 folders deep/);
  });

  it('refuses a name the file API would refuse, naming it', async () => {
    await expect(walkDrop([entry('ok', { 'bad\\name': 'x' })])).rejects.toThrow(/“ok\/bad\\name”/);
    await expect(walkDrop([entry('ok', { 'line\nbreak': 'x' })])).rejects.toBeInstanceOf(DropRefused);
  });
});
