/**
 * Just enough of the zip format to unpack what the archive endpoint produces: stored and deflated
 * entries, data descriptors (sizes are read from the central directory), zip64, unix modes and
 * symlinks. Entries may not escape the destination; symlinks are created last and only when they
 * point inside it.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, crc32 } from 'node:zlib';
import { CliError } from './errors.ts';

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** Unix mode when the archive recorded one. */
  mode: number | undefined;
  isDir: boolean;
  isSymlink: boolean;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

function corrupt(what: string): CliError {
  return new CliError(`the downloaded archive is damaged: ${what}`, 1, 'Retry the download');
}

/** Reads the central directory. */
export async function readZipEntries(zipPath: string): Promise<ZipEntry[]> {
  const fh = await open(zipPath, 'r');
  try {
    const { size } = await fh.stat();
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw corrupt('no end-of-central-directory record');
    let total = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locPos = size - tailLen + eocd - 20;
      const loc = Buffer.alloc(20);
      await fh.read(loc, 0, 20, locPos);
      if (loc.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) throw corrupt('missing zip64 locator');
      const rec = Buffer.alloc(56);
      await fh.read(rec, 0, 56, Number(loc.readBigUInt64LE(8)));
      if (rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw corrupt('missing zip64 record');
      total = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let n = 0; n < total; n++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) throw corrupt('bad central directory');
      const madeBy = cd.readUInt16LE(p + 4) >> 8;
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const external = cd.readUInt32LE(p + 38);
      let offset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // zip64 extra field: the 64-bit values appear only for fields saturated at 0xffffffff.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncompressed === 0xffffffff) {
            uncompressed = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (offset === 0xffffffff) offset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      const mode = madeBy === 3 ? (external >>> 16) & 0xffff : undefined;
      const isSymlink = mode !== undefined && (mode & 0o170000) === 0o120000;
      const isDir = name.endsWith('/') || (mode !== undefined && (mode & 0o170000) === 0o040000);
      entries.push({
        name,
        method,
        crc,
        compressedSize,
        size: uncompressed,
        localHeaderOffset: offset,
        mode,
        isDir,
        isSymlink,
      });
      p = extraEnd + commentLen;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/** `a/b/../c` style names become safe relative paths, or undefined when they would escape. */
function safeRelative(name: string): string | undefined {
  const parts: string[] = [];
  for (const part of name.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    parts.push(part);
  }
  if (parts.length === 0) return '';
  if (/^[A-Za-z]:$/.test(parts[0] ?? '')) return undefined;
  return parts.join(sep);
}

/** The single top-level directory every entry sits in, if there is one. */
export function commonTopDir(entries: ZipEntry[]): string | undefined {
  let top: string | undefined;
  for (const entry of entries) {
    const first = entry.name.split('/')[0];
    if (!first) return undefined;
    if (!entry.name.includes('/') && !entry.isDir) return undefined;
    if (top === undefined) top = first;
    else if (top !== first) return undefined;
  }
  return top;
}

export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  skipped: string[];
}

/**
 * Unpacks `zipPath` into `destDir`. With `stripTopDir`, a leading directory of that name is
 * removed from every entry (the archive endpoint may or may not include the archived directory).
 */
export async function extractZip(
  zipPath: string,
  destDir: string,
  opts: { stripTopDir?: string; signal?: AbortSignal } = {},
): Promise<ExtractResult> {
  const entries = await readZipEntries(zipPath);
  const strip = opts.stripTopDir !== undefined && commonTopDir(entries) === opts.stripTopDir;
  const root = resolve(destDir);
  await mkdir(root, { recursive: true });
  const result: ExtractResult = { files: 0, directories: 0, symlinks: 0, bytes: 0, skipped: [] };
  const links: { path: string; entry: ZipEntry }[] = [];

  for (const entry of entries) {
    opts.signal?.throwIfAborted();
    const name = strip ? entry.name.slice((opts.stripTopDir ?? '').length + 1) : entry.name;
    const rel = safeRelative(name);
    if (rel === undefined) {
      result.skipped.push(entry.name);
      continue;
    }
    const target = join(root, rel);
    if (entry.isDir) {
      await mkdir(target, { recursive: true });
      if (rel !== '') result.directories++;
      continue;
    }
    if (rel === '') continue;
    await mkdir(dirname(target), { recursive: true });
    if (entry.isSymlink) {
      links.push({ path: target, entry });
      continue;
    }
    result.bytes += await extractFile(zipPath, entry, target, opts.signal);
    result.files++;
  }

  // Symlinks last, so no later entry can be written through one; only links that stay inside.
  for (const { path, entry } of links) {
    const linkTarget = (await readEntry(zipPath, entry)).toString('utf8');
    const resolved = resolve(dirname(path), linkTarget);
    const inside = !isAbsolute(linkTarget) && !relative(root, resolved).startsWith('..');
    if (!inside) {
      result.skipped.push(`${entry.name} -> ${linkTarget}`);
      continue;
    }
    await rm(path, { force: true });
    await symlink(linkTarget, path);
    result.symlinks++;
  }
  return result;
}

async function dataStart(zipPath: string, entry: ZipEntry): Promise<number> {
  const fh = await open(zipPath, 'r');
  try {
    const header = Buffer.alloc(30);
    await fh.read(header, 0, 30, entry.localHeaderOffset);
    if (header.readUInt32LE(0) !== LOCAL_SIG) throw corrupt(`bad local header for ${entry.name}`);
    return entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  } finally {
    await fh.close();
  }
}

function decoder(entry: ZipEntry): Transform {
  if (entry.method === 8) return createInflateRaw();
  if (entry.method === 0) return new Transform({ transform: (chunk, _enc, done) => done(null, chunk) });
  throw new CliError(`the archive uses compression method ${entry.method}, which this CLI cannot unpack`);
}

function checker(entry: ZipEntry): Transform & { check(): void } {
  let crc = 0;
  let bytes = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { check(): void };
  t.check = () => {
    if (bytes !== entry.size || crc >>> 0 !== entry.crc >>> 0)
      throw corrupt(`checksum mismatch in ${entry.name}`);
  };
  return t;
}

async function extractFile(
  zipPath: string,
  entry: ZipEntry,
  target: string,
  signal?: AbortSignal,
): Promise<number> {
  const mode = entry.mode !== undefined && (entry.mode & 0o777) !== 0 ? entry.mode & 0o777 : 0o644;
  if (entry.compressedSize === 0) {
    if (entry.size !== 0) throw corrupt(`no data for ${entry.name}`);
    await writeFile(target, '', { mode });
    return 0;
  }
  const start = await dataStart(zipPath, entry);
  const check = checker(entry);
  const source = createReadStream(zipPath, { start, end: start + entry.compressedSize - 1 });
  await pipeline(
    source,
    decoder(entry),
    check,
    createWriteStream(target, { mode }),
    signal ? { signal } : {},
  );
  check.check();
  return entry.size;
}

async function readEntry(zipPath: string, entry: ZipEntry): Promise<Buffer> {
  const start = await dataStart(zipPath, entry);
  const chunks: Buffer[] = [];
  if (entry.compressedSize > 0) {
    const stream = createReadStream(zipPath, { start, end: start + entry.compressedSize - 1 }).pipe(
      decoder(entry),
    );
    for await (const c of stream) chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
