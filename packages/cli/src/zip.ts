/**
 * Unpacks a downloaded archive into a local directory without trusting it: the zip comes from a
 * sandbox, which is hostile by assumption. The zip format itself is read by yauzl (which checks every
 * entry's real size against the one declared, so a bomb cannot inflate past it); this file decides
 * what may be written where:
 *
 * - every write is resolved against the real destination (its realpath), and no path component on
 *   disk is followed if it is a link: a parent that is not a plain directory refuses the entry, so a
 *   link left by an earlier `cp` (or by this archive) is never written through;
 * - files are written to a fresh name made with O_CREAT | O_EXCL | O_NOFOLLOW in their parent, then
 *   renamed over the target (a rename replaces a link, never follows it);
 * - names with `..`, absolute or drive-letter parts and names seen twice are refused;
 * - the declared sizes and entry count are capped before anything is written;
 * - links are made last, never over an existing name, and only when their target resolves, on disk
 *   and through the links already made, to something that exists inside the destination.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, realpath, rename, symlink, unlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { CliError } from './errors.ts';

export interface ZipEntry {
  name: string;
  size: number;
  /** Unix mode when the archive recorded one. */
  mode: number | undefined;
  isDir: boolean;
  isSymlink: boolean;
  /** @internal yauzl's entry, to open its data. */
  raw: yauzl.Entry;
}

export interface ExtractLimits {
  /** Sum of the entries' declared (uncompressed) sizes. @default 8 GiB */
  maxBytes?: number;
  /** @default 1,000,000 */
  maxEntries?: number;
}

const DEFAULT_MAX_BYTES = 8 * 1024 ** 3;
const DEFAULT_MAX_ENTRIES = 1_000_000;
/** A link's target is read into memory: at most PATH_MAX. */
const MAX_LINK_BYTES = 4096;

function corrupt(what: string): CliError {
  return new CliError(`the downloaded archive is damaged: ${what}`, 1, 'Retry the download');
}

function openZip(zipPath: string): Promise<yauzl.ZipFile> {
  return new Promise((resolvePromise, reject) =>
    yauzl.open(
      zipPath,
      // Names are checked here (decodeStrings: false hands them over raw), so a bad one is refused
      // and reported instead of failing the whole archive.
      { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true },
      (err, zip) => (err ? reject(corrupt(err.message)) : resolvePromise(zip)),
    ),
  );
}

/** Reads the central directory (no data), refusing archives over the limits. */
async function listEntries(zip: yauzl.ZipFile, limits: ExtractLimits): Promise<ZipEntry[]> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (zip.entryCount > maxEntries)
    throw new CliError(`the archive has ${zip.entryCount} entries, more than ${maxEntries}`);
  const entries: ZipEntry[] = [];
  let total = 0;
  await new Promise<void>((resolvePromise, reject) => {
    zip.on('entry', (raw: yauzl.Entry) => {
      const name = (raw.fileName as unknown as Buffer).toString('utf8');
      const madeByUnix = raw.versionMadeBy >> 8 === 3;
      const mode = madeByUnix ? (raw.externalFileAttributes >>> 16) & 0xffff : undefined;
      total += raw.uncompressedSize;
      if (total > maxBytes) {
        reject(new CliError(`the archive declares more than ${maxBytes} bytes; refusing to unpack it`));
        return;
      }
      entries.push({
        name,
        size: raw.uncompressedSize,
        mode,
        isDir: name.endsWith('/') || (mode !== undefined && (mode & 0o170000) === 0o040000),
        isSymlink: mode !== undefined && (mode & 0o170000) === 0o120000,
        raw,
      });
      zip.readEntry();
    });
    zip.once('end', () => resolvePromise());
    zip.once('error', (err: Error) => reject(corrupt(err.message)));
    zip.readEntry();
  });
  return entries;
}

/** Reads the central directory of a zip file. */
export async function readZipEntries(zipPath: string, limits: ExtractLimits = {}): Promise<ZipEntry[]> {
  const zip = await openZip(zipPath);
  try {
    return await listEntries(zip, limits);
  } finally {
    zip.close();
  }
}

/** `a/b/` → `['a', 'b']`; undefined for names with `..`, absolute, drive-letter, NUL or backslash parts. */
export function safeParts(name: string): string[] | undefined {
  if (name.includes('\0') || name.includes('\\') || name.startsWith('/')) return undefined;
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  if (/^[A-Za-z]:/.test(parts[0] ?? '')) return undefined;
  return parts;
}

/** The single top-level directory every entry sits in, if there is one. */
export function commonTopDir(entries: Pick<ZipEntry, 'name' | 'isDir'>[]): string | undefined {
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
  /** Entries not written, each with the reason. */
  skipped: string[];
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Makes `parts` below `root` as plain directories, one component at a time, never following a link:
 * returns the directory's path, or undefined when some component exists and is not a directory.
 */
async function plainDirectory(root: string, parts: string[]): Promise<string | undefined> {
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    let st = await lstatOrUndefined(dir);
    if (!st) {
      try {
        await mkdir(dir); // mkdir never follows a link in its last component: it fails with EEXIST
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      st = await lstat(dir);
    }
    if (!st.isDirectory()) return undefined;
  }
  // Nothing above was a link (lstat saw directories), so the real path is the one built; check once
  // more in case a component was swapped meanwhile.
  return (await realpath(dir)) === dir ? dir : undefined;
}

function openEntry(zip: yauzl.ZipFile, entry: ZipEntry): Promise<Readable> {
  return new Promise((resolvePromise, reject) =>
    zip.openReadStream(entry.raw, (err, stream) =>
      err ? reject(corrupt(err.message)) : resolvePromise(stream),
    ),
  );
}

/** Writes one entry to a fresh name beside `target` and renames it into place. */
async function writeFileEntry(
  zip: yauzl.ZipFile,
  entry: ZipEntry,
  dir: string,
  target: string,
  signal?: AbortSignal,
): Promise<number> {
  const mode = entry.mode !== undefined && (entry.mode & 0o777) !== 0 ? entry.mode & 0o777 : 0o644;
  const tmp = join(dir, `.agenttier-cp-${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(
    tmp,
    fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
    0o600,
  );
  try {
    let stream: Readable;
    try {
      stream = await openEntry(zip, entry);
    } catch (err) {
      await fh.close();
      throw err;
    }
    // The write stream owns the handle from here and closes it when done or failed. yauzl checks
    // the size; the checksum is checked here, before the file takes its name.
    let crc = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        crc = crc32(chunk, crc);
        done(null, chunk);
      },
      flush(done) {
        done(crc >>> 0 === entry.raw.crc32 >>> 0 ? null : corrupt(`checksum mismatch in ${entry.name}`));
      },
    });
    await pipeline(stream, check, fh.createWriteStream(), signal ? { signal } : {});
    await chmod(tmp, mode);
    await rename(tmp, target); // replaces a file or a link at target; never writes through one
  } catch (err) {
    await unlink(tmp).catch(() => {});
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') return -1;
    if (typeof (err as Error).message === 'string' && !code) throw corrupt((err as Error).message);
    throw err;
  }
  return entry.size;
}

/**
 * Unpacks `zipPath` into `destDir`. With `stripTopDir`, a leading directory of that name is
 * removed from every entry (the archive endpoint may or may not include the archived directory).
 */
export async function extractZip(
  zipPath: string,
  destDir: string,
  opts: { stripTopDir?: string; signal?: AbortSignal } & ExtractLimits = {},
): Promise<ExtractResult> {
  const zip = await openZip(zipPath);
  try {
    const entries = await listEntries(zip, opts);
    const strip = opts.stripTopDir !== undefined && commonTopDir(entries) === opts.stripTopDir;
    await mkdir(resolve(destDir), { recursive: true });
    // The destination the user named may itself be a link; everything below it is resolved from
    // its real path and never through another link.
    const root = await realpath(resolve(destDir));
    const result: ExtractResult = { files: 0, directories: 0, symlinks: 0, bytes: 0, skipped: [] };
    const seen = new Set<string>();
    const links: { entry: ZipEntry; parts: string[] }[] = [];

    for (const entry of entries) {
      opts.signal?.throwIfAborted();
      const name = strip ? entry.name.slice((opts.stripTopDir ?? '').length + 1) : entry.name;
      const parts = safeParts(name);
      if (parts === undefined) {
        result.skipped.push(`${entry.name} (escapes the destination)`);
        continue;
      }
      const key = parts.join('/');
      if (entry.isDir) {
        if ((await plainDirectory(root, parts)) === undefined)
          result.skipped.push(`${entry.name} (a file or link is in the way)`);
        else if (parts.length > 0 && !seen.has(key)) result.directories++;
        seen.add(key);
        continue;
      }
      if (parts.length === 0) continue;
      if (seen.has(key)) {
        result.skipped.push(`${entry.name} (named twice)`);
        continue;
      }
      seen.add(key);
      if (entry.isSymlink) {
        links.push({ entry, parts });
        continue;
      }
      const dir = await plainDirectory(root, parts.slice(0, -1));
      if (dir === undefined) {
        result.skipped.push(`${entry.name} (its directory is a link or a file)`);
        continue;
      }
      const written = await writeFileEntry(zip, entry, dir, join(dir, parts.at(-1) as string), opts.signal);
      if (written < 0) {
        result.skipped.push(`${entry.name} (a directory is in the way)`);
        continue;
      }
      result.bytes += written;
      result.files++;
    }

    await makeLinks(zip, root, links, result);
    return result;
  } finally {
    zip.close();
  }
}

/**
 * Links last, so no entry is written through one. A link is made only at a name that does not exist
 * yet, and only when its target resolves (following what is on disk, including links made before it)
 * to an existing path inside `root`. Links whose target is another link of the archive are retried
 * until no more can be made.
 */
async function makeLinks(
  zip: yauzl.ZipFile,
  root: string,
  links: { entry: ZipEntry; parts: string[] }[],
  result: ExtractResult,
): Promise<void> {
  let pending: { entry: ZipEntry; parts: string[]; target: string }[] = [];
  for (const l of links) {
    if (l.entry.size > MAX_LINK_BYTES) {
      result.skipped.push(`${l.entry.name} (link target too long)`);
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const c of await openEntry(zip, l.entry)) chunks.push(c as Buffer);
    pending.push({ ...l, target: Buffer.concat(chunks).toString('utf8') });
  }
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    const next: typeof pending = [];
    for (const l of pending) {
      const dir = await plainDirectory(root, l.parts.slice(0, -1));
      const path = dir === undefined ? undefined : join(dir, l.parts.at(-1) as string);
      if (path === undefined || (await lstatOrUndefined(path)) !== undefined) {
        result.skipped.push(`${l.entry.name} -> ${l.target} (its place is taken)`);
        continue;
      }
      if (l.target.startsWith('/') || l.target.includes('\0')) {
        result.skipped.push(`${l.entry.name} -> ${l.target} (points outside)`);
        continue;
      }
      let real: string | undefined;
      try {
        // Joined as text, not path.resolve: `l1/..` must go through whatever `l1` is on disk
        // (a link, or nothing), the way the kernel resolves it later, not be cancelled out on paper.
        real = await realpath(`${dir as string}/${l.target}`);
      } catch {
        real = undefined; // not there (yet): maybe another link makes it resolvable
      }
      if (real === undefined) {
        next.push(l);
        continue;
      }
      const rel = relative(root, real);
      if (rel === '..' || rel.startsWith(`..${sep}`) || resolve(root, rel) !== real) {
        result.skipped.push(`${l.entry.name} -> ${l.target} (points outside)`);
        continue;
      }
      await symlink(l.target, path);
      result.symlinks++;
      progress = true;
    }
    pending = next;
  }
  for (const l of pending) result.skipped.push(`${l.entry.name} -> ${l.target} (points at nothing)`);
}
