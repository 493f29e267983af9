/**
 * The tar behind an archive comes from inside the sandbox; these are tars a replaced sandboxd could
 * send, and the zip the user downloads must carry nothing that escapes the archived directory when
 * unpacked, nor more than the caps.
 */
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import tar from 'tar-stream';
import { entryParts, resolveLinkInside, tarToZip } from './archive-zip.ts';
import { zipEntries } from '../testing/zip.ts';

type TarEntry = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'fifo';
  body?: string;
  linkname?: string;
};

function tarOf(entries: TarEntry[]): AsyncIterable<Uint8Array> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '' });
    else if (e.type === 'directory' || e.type === 'fifo') pack.entry({ name: e.name, type: e.type });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  return pack as unknown as AsyncIterable<Uint8Array>;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const zipOf = (entries: TarEntry[], limits = { maxBytes: 1 << 20, maxEntries: 1000 }) =>
  collect(tarToZip(tarOf(entries), { top: 'd', ...limits }));

describe('resolveLinkInside', () => {
  const none = new Map<string, string>();
  it('keeps relative links that stay inside', () => {
    expect(resolveLinkInside(none, ['a'], '../b')).toEqual(['b']);
    expect(resolveLinkInside(none, [], 'a/./b')).toEqual(['a', 'b']);
  });
  it('refuses absolute targets and .. above the directory', () => {
    expect(resolveLinkInside(none, [], '/etc')).toBeUndefined();
    expect(resolveLinkInside(none, [], '/proc/self/root')).toBeUndefined();
    expect(resolveLinkInside(none, [], '..')).toBeUndefined();
    expect(resolveLinkInside(none, ['a'], '../..')).toBeUndefined();
  });
  it('follows chains of the archive own links (l1 -> .., l2 -> l1/..)', () => {
    const links = new Map([
      ['l1', '..'],
      ['l2', 'l1/..'],
      ['sub/up', '..'],
      ['deep', 'sub/up/sub'],
    ]);
    expect(resolveLinkInside(links, [], 'l1/..')).toBeUndefined();
    expect(resolveLinkInside(links, [], 'l2')).toBeUndefined();
    // a link to a link that stays inside
    expect(resolveLinkInside(links, [], 'deep')).toEqual(['sub']);
  });
  it('gives up on loops', () => {
    const links = new Map([
      ['a', 'b'],
      ['b', 'a'],
    ]);
    expect(resolveLinkInside(links, [], 'a')).toBeUndefined();
  });
});

describe('entryParts', () => {
  it('accepts names under the top directory only', () => {
    expect(entryParts('d/', 'd')).toEqual([]);
    expect(entryParts('d/a/b', 'd')).toEqual(['a', 'b']);
    for (const bad of ['e/a', '/d/a', 'd/../x', 'd/./x', 'd/a\\b', 'd/a\u0001', `d/${'x'.repeat(5000)}`])
      expect(entryParts(bad, 'd'), bad).toBeUndefined();
  });
});

describe('tarToZip', () => {
  it('carries files, directories and inside links, links last', async () => {
    const files = await zipEntries(
      await zipOf([
        { name: 'd/', type: 'directory' },
        { name: 'd/link', type: 'symlink', linkname: 'sub/f' },
        { name: 'd/sub/', type: 'directory' },
        { name: 'd/sub/f', body: 'hello' },
      ]),
    );
    expect(files).toEqual({ 'd/': '/', 'd/sub/': '/', 'd/sub/f': 'hello', 'd/link': '-> sub/f' });
  });

  it('leaves out zip-slip names, other roots, special files and duplicates', async () => {
    const files = await zipEntries(
      await zipOf([
        { name: 'd/ok', body: '1' },
        { name: 'd/../evil', body: 'x' },
        { name: '/etc/passwd', body: 'x' },
        { name: 'other/x', body: 'x' },
        { name: 'd/fifo', type: 'fifo' },
        { name: 'd/ok', body: 'second' },
      ]),
    );
    expect(files).toEqual({ 'd/ok': '1' });
  });

  it('leaves out links that leave the directory, directly or through a chain', async () => {
    const files = await zipEntries(
      await zipOf([
        { name: 'd/root', type: 'symlink', linkname: '/' },
        { name: 'd/proc', type: 'symlink', linkname: '/proc/self/root' },
        { name: 'd/l1', type: 'symlink', linkname: '..' },
        { name: 'd/l2', type: 'symlink', linkname: 'l1/..' },
        { name: 'd/token', type: 'symlink', linkname: '../../run/agenttier/token' },
        { name: 'd/f', body: 'x' },
      ]),
    );
    expect(files).toEqual({ 'd/f': 'x' });
  });

  it('never writes through a link: entries below a link, and a link over a written path, are left out', async () => {
    const files = await zipEntries(
      await zipOf([
        { name: 'd/l', type: 'symlink', linkname: 'sub' },
        { name: 'd/l/x', body: 'through the link' },
        { name: 'd/sub/', type: 'directory' },
        { name: 'd/f', body: 'file' },
        { name: 'd/f', type: 'symlink', linkname: 'sub' },
      ]),
    );
    expect(files).toEqual({ 'd/sub/': '/', 'd/f': 'file', 'd/l': '-> sub' });
  });

  it('fails past the byte cap instead of finishing short', async () => {
    const big = 'x'.repeat(4096);
    await expect(
      zipOf(
        [
          { name: 'd/a', body: big },
          { name: 'd/b', body: big },
        ],
        { maxBytes: 6000, maxEntries: 10 },
      ),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('fails past the entry cap', async () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ name: `d/f${i}`, body: '' }));
    await expect(zipOf(many, { maxBytes: 1000, maxEntries: 10 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
  });
});
