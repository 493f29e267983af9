/**
 * Turns the tar a sandbox sends for a directory into the zip the user downloads, streaming (no file is
 * held in memory) and trusting nothing in the tar: sandboxd can be replaced by code in the sandbox.
 *
 * - Every name must sit under the archived directory's own name, without `..`, absolute parts,
 *   backslashes or control characters; entries of any other type than file, directory or link, and
 *   entries under a path that is a link, or named twice, are left out.
 * - File content is counted against `maxBytes` and entries against `maxEntries`; past either the zip
 *   fails (the download breaks rather than finishing short).
 * - Links are held back and written last, and only those whose target, resolved through the other
 *   links of the same archive, stays inside the archived directory: unpacking the zip can neither
 *   write through a link nor leave a link that points outside (`l1 -> ..`, `l2 -> l1/..`).
 */
import { Readable, Transform } from 'node:stream';
import { ZipArchive } from 'archiver';
import tar from 'tar-stream';
import { PlatformError } from '@agenttier/contract';

export interface TarToZipOpts {
  /** The archived directory's own name: every entry is `top` or under `top/`. */
  top: string;
  maxBytes: number;
  maxEntries: number;
  /** Told once why the zip failed (it is also destroyed with that error). */
  onError?: (err: Error) => void;
}

/** Longest entry name kept (PATH_MAX), and the most name bytes remembered for the checks. */
const MAX_NAME_BYTES = 4096;
const MAX_REMEMBERED_NAME_BYTES = 16 * 1024 * 1024;
const MAX_LINK_HOPS = 40;

function hasControlOrBackslash(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/** `top/a/b/` → `['a', 'b']` below top, or undefined when the name is not a plain path under top. */
export function entryParts(name: string, top: string): string[] | undefined {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES || hasControlOrBackslash(name)) return undefined;
  const parts = name.split('/').filter((p) => p !== '');
  if (parts[0] !== top || name.startsWith('/')) return undefined;
  const rest = parts.slice(1);
  if (rest.some((p) => p === '.' || p === '..')) return undefined;
  return rest;
}

/**
 * Resolves a link's target the way the kernel would inside the unpacked tree, following the other
 * links of the archive (`links`, keyed by path below top). Returns the path below top it names, or
 * undefined when it leaves the tree (absolute, `..` above top, through a link that leaves) or loops.
 */
export function resolveLinkInside(
  links: ReadonlyMap<string, string>,
  fromDir: readonly string[],
  target: string,
  budget = { hops: MAX_LINK_HOPS },
): string[] | undefined {
  if (target.startsWith('/') || target === '') return undefined;
  const parts = [...fromDir];
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(seg);
    const next = links.get(parts.join('/'));
    if (next === undefined) continue;
    if (--budget.hops < 0) return undefined;
    const resolved = resolveLinkInside(links, parts.slice(0, -1), next, budget);
    if (!resolved) return undefined;
    parts.splice(0, parts.length, ...resolved);
  }
  return parts;
}

/**
 * The zip of a sandbox's tar stream; see the file comment for what is checked. `started` resolves
 * with the first zip bytes, or rejects when the tar failed before them: a caller that waits for it
 * can still answer a clean error instead of a broken download.
 */
export function tarToZip(
  tarStream: AsyncIterable<Uint8Array>,
  opts: TarToZipOpts,
): Readable & { started: Promise<void> } {
  const zip = new ZipArchive({ zlib: { level: 6 } });
  let begin!: () => void;
  let refuse!: (err: Error) => void;
  const started = new Promise<void>((resolve, reject) => {
    begin = resolve;
    refuse = reject;
  });
  started.catch(() => {}); // a caller that never waits must not see an unhandled rejection
  const out = Object.assign(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        begin();
        done(null, chunk);
      },
      flush(done) {
        begin();
        done();
      },
    }),
    { started },
  );
  const extract = tar.extract();
  const source = Readable.from(tarStream);
  const links = new Map<string, string>();
  const linkOrder: { parts: string[]; target: string; mtime: Date }[] = [];
  /** Every name written, and every directory above one: a link may not take either's place. */
  const used = new Set<string>();
  let rememberedBytes = 0;
  let entries = 0;
  let bytes = 0;
  let failed = false;

  const fail = (err: Error): void => {
    if (failed) return;
    failed = true;
    refuse(err);
    opts.onError?.(err);
    source.destroy();
    extract.destroy();
    void zip.abort();
    out.destroy(err);
  };
  const tooLarge = (what: string): PlatformError =>
    new PlatformError('PAYLOAD_TOO_LARGE', `the archive is over ${what}; archive a smaller directory`);
  const remember = (key: string): boolean => {
    rememberedBytes += key.length;
    if (rememberedBytes > MAX_REMEMBERED_NAME_BYTES) {
      fail(tooLarge(`${MAX_REMEMBERED_NAME_BYTES} bytes of names`));
      return false;
    }
    used.add(key);
    return true;
  };
  /** True when no prefix of `parts` is a link (nothing may be written below one). */
  const underNoLink = (parts: string[]): boolean => {
    for (let i = 1; i < parts.length; i++) if (links.has(parts.slice(0, i).join('/'))) return false;
    return true;
  };
  const record = (parts: string[]): boolean => {
    for (let i = 1; i <= parts.length; i++) {
      if (!remember(parts.slice(0, i).join('/'))) return false;
    }
    return true;
  };

  extract.on('entry', (header, stream, next) => {
    const skip = (): void => {
      stream.on('end', next);
      stream.resume();
    };
    if (failed) return skip();
    if (++entries > opts.maxEntries) {
      fail(tooLarge(`${opts.maxEntries} entries`));
      return skip();
    }
    const parts = entryParts(header.name, opts.top);
    const key = parts?.join('/');
    const date = header.mtime ?? new Date();
    if (parts === undefined || key === undefined || !underNoLink(parts)) return skip();
    if (header.type === 'directory') {
      if (links.has(key) || !record(parts)) return skip();
      zip.append('', { name: `${[opts.top, ...parts].join('/')}/`, date });
      return skip();
    }
    if (header.type === 'symlink') {
      const target = header.linkname ?? '';
      if (parts.length === 0 || used.has(key) || links.has(key) || Buffer.byteLength(target) > MAX_NAME_BYTES)
        return skip();
      rememberedBytes += key.length + target.length;
      links.set(key, target);
      linkOrder.push({ parts, target, mtime: date });
      return skip();
    }
    if (header.type !== 'file' || parts.length === 0 || used.has(key) || links.has(key) || !record(parts))
      return skip();
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > opts.maxBytes) {
          done(tooLarge(`${opts.maxBytes} bytes of files`));
        } else done(null, chunk);
      },
    });
    counted.on('error', (err) => fail(err));
    stream.on('end', next);
    stream.on('error', (err) => fail(err));
    zip.append(stream.pipe(counted), {
      name: [opts.top, ...parts].join('/'),
      date,
      mode: (header.mode ?? 0o644) & 0o777,
    });
  });

  extract.on('finish', () => {
    if (failed) return;
    for (const l of linkOrder) {
      // A link that names, through any chain of the archive's links, a place outside the archived
      // directory is left out; so is one whose place a file or directory already took.
      if (used.has(l.parts.join('/'))) continue;
      if (!resolveLinkInside(links, l.parts.slice(0, -1), l.target)) continue;
      zip.symlink([opts.top, ...l.parts].join('/'), l.target, 0o777);
    }
    void zip.finalize();
  });
  extract.on('error', (err) => fail(err));
  source.on('error', (err) => fail(err));
  zip.on('error', (err) => fail(err));
  zip.on('warning', (err) => fail(err));
  zip.pipe(out);
  source.pipe(extract);
  return out;
}
