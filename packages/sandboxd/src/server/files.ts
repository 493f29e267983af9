import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream, createWriteStream } from 'node:fs';
import type { Stats } from 'node:fs';
import {
  chmod,
  cp,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { SandboxdError } from '../errors.ts';
import type { FileInfo, ListDirResult, WatchEvent, WriteFileResult } from '../protocol.ts';
import { watchDirTree } from './dir-watch.ts';
import type { WatchBudget } from './dir-watch.ts';
import { fsError } from './paths.ts';
import type { PathPolicy } from './paths.ts';

const TYPE_CHARS: [(s: Stats) => boolean, string][] = [
  [(s) => s.isDirectory(), 'd'],
  [(s) => s.isSymbolicLink(), 'l'],
  [(s) => s.isCharacterDevice(), 'c'],
  [(s) => s.isBlockDevice(), 'b'],
  [(s) => s.isFIFO(), 'p'],
  [(s) => s.isSocket(), 's'],
];

/** `ls -l` style mode string, e.g. `-rwxr-xr-x`, `drwxrwxrwt`. */
export function modeString(st: Stats): string {
  const type = TYPE_CHARS.find(([is]) => is(st))?.[1] ?? '-';
  const m = st.mode;
  const bit = (mask: number, ch: string): string => (m & mask ? ch : '-');
  const exec = (x: number, special: number, set: string, unset: string): string =>
    m & special ? (m & x ? set : unset) : m & x ? 'x' : '-';
  return (
    type +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    exec(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') +
    bit(0o020, 'w') +
    exec(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') +
    bit(0o002, 'w') +
    exec(0o001, 0o1000, 't', 'T')
  );
}

function parseMode(mode: unknown): number | undefined {
  if (mode === undefined || mode === null || mode === '') return undefined;
  const n =
    typeof mode === 'number'
      ? mode
      : typeof mode === 'string' && /^[0-7]{1,4}$/.test(mode)
        ? parseInt(mode, 8)
        : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o7777) {
    throw new SandboxdError(
      'invalid_argument',
      'mode must be octal digits (e.g. "644") or a number ≤ 0o7777',
    );
  }
  return n;
}

export interface ReadHandle {
  size: number;
  stream: Readable;
}

/**
 * Directory watches for the whole daemon. Below the kernel's usual per-user inotify limit (8192 on
 * older kernels), so the sandbox's own tools (editors, dev servers) still get watches of their own.
 */
export const DEFAULT_MAX_WATCHED_DIRS = 4096;

/** File operations confined by a {@link PathPolicy}; no shell involved. */
export class FileService {
  /** Directory watches held by all watch requests together (see {@link WatchBudget}). */
  private readonly watchBudget: WatchBudget;

  constructor(
    private readonly policy: PathPolicy,
    opts: { maxWatchedDirs?: number } = {},
  ) {
    this.watchBudget = { used: 0, max: opts.maxWatchedDirs ?? DEFAULT_MAX_WATCHED_DIRS };
  }

  async stat(path: unknown): Promise<FileInfo> {
    const { display, real } = await this.policy.resolve(path, false);
    return this.info(display, real);
  }

  async list(path: unknown): Promise<ListDirResult> {
    const { display, real } = await this.policy.resolve(path, true);
    let names: string[];
    let dir;
    try {
      dir = await open(real, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NONBLOCK);
    } catch (err) {
      throw fsError(err, display);
    }
    try {
      // The directory as opened (a swapped path cannot redirect it), read through its descriptor.
      await this.policy.assertOpenedInside(dir.fd, display);
      const via = `/proc/self/fd/${dir.fd}`;
      try {
        names = await readdir(via);
      } catch (err) {
        throw fsError(err, display);
      }
      names.sort();
      const entries: FileInfo[] = [];
      const BATCH = 64;
      for (let i = 0; i < names.length; i += BATCH) {
        const infos = await Promise.all(
          names
            .slice(i, i + BATCH)
            .map((n) => this.info(posix.join(display, n), posix.join(via, n)).catch(() => undefined)),
        );
        for (const e of infos) if (e) entries.push(e);
      }
      return { path: display, entries };
    } finally {
      await dir.close().catch(() => undefined);
    }
  }

  /** Opens a regular file for streaming; `maxBytes` rejects larger files with `too_large`. */
  async read(
    path: unknown,
    opts: { maxBytes?: number; offset?: number; length?: number } = {},
  ): Promise<ReadHandle> {
    const { display, real } = await this.policy.resolve(path, true);
    let fh;
    try {
      fh = await open(real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    } catch (err) {
      throw fsError(err, display);
    }
    try {
      await this.policy.assertOpenedInside(fh.fd, display);
      const st = await fh.stat();
      if (st.isDirectory()) throw new SandboxdError('is_a_directory', `is a directory: ${display}`);
      if (!st.isFile()) throw new SandboxdError('invalid_argument', `not a regular file: ${display}`);
      const offset = Math.min(opts.offset ?? 0, st.size);
      const available = st.size - offset;
      const size = opts.length === undefined ? available : Math.min(opts.length, available);
      if (opts.maxBytes !== undefined && size > opts.maxBytes) {
        throw new SandboxdError(
          'too_large',
          `file is ${size} bytes, more than maxBytes ${opts.maxBytes}: ${display}`,
          {
            details: { size, maxBytes: opts.maxBytes },
          },
        );
      }
      if (size === 0) {
        await fh.close();
        return { size, stream: Readable.from([]) };
      }
      // Cap at the size we announce so a growing file cannot overrun Content-Length.
      return {
        size,
        stream: createReadStream('', { fd: fh, start: offset, end: offset + size - 1, autoClose: true }),
      };
    } catch (err) {
      await fh.close().catch(() => {});
      throw err instanceof SandboxdError ? err : fsError(err, display);
    }
  }

  /** Streams `body` into a temp file next to the target, then renames it over the target (atomic). */
  async write(
    path: unknown,
    body: Readable,
    opts: { mode?: unknown; mkdirs?: boolean; overwrite?: boolean; maxBytes?: number } = {},
  ): Promise<WriteFileResult> {
    const mode = parseMode(opts.mode);
    const { display, real } = await this.policy.resolve(path, true);
    if (this.policy.isRoot(display)) throw new SandboxdError('is_a_directory', `is a directory: ${display}`);
    const dir = posix.dirname(real);
    let existingMode: number | undefined;
    try {
      const st = await stat(real);
      if (st.isDirectory()) throw new SandboxdError('is_a_directory', `is a directory: ${display}`);
      if (opts.overwrite === false) throw new SandboxdError('exists', `already exists: ${display}`);
      existingMode = st.mode & 0o7777;
    } catch (err) {
      if (err instanceof SandboxdError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, display);
    }
    if (opts.mkdirs !== false) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        throw fsError(err, posix.dirname(display));
      }
    }
    // Create and rename through the directory as opened and checked: a directory on the path swapped
    // for a link after the check cannot send the file elsewhere.
    let dirHandle;
    try {
      dirHandle = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.mkdirs === false)
        throw new SandboxdError('not_found', `parent directory does not exist: ${display}`);
      throw fsError(err, posix.dirname(display));
    }
    const via = `/proc/self/fd/${dirHandle.fd}`;
    const tmp = posix.join(via, `.${posix.basename(real)}.sandboxd-${randomBytes(6).toString('hex')}.tmp`);
    let bytes = 0;
    try {
      await this.policy.assertOpenedInside(dirHandle.fd, display);
      const out = createWriteStream(tmp, { flags: 'wx', mode: mode ?? existingMode ?? 0o666 });
      const max = opts.maxBytes;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          if (max !== undefined && bytes > max) {
            cb(
              new SandboxdError('too_large', `payload exceeds ${max} bytes`, { details: { maxBytes: max } }),
            );
          } else cb(null, chunk);
        },
      });
      await pipeline(body, counter, out);
      // The umask applied at create time; an explicit mode (or the replaced file's) should win.
      const wanted = mode ?? existingMode;
      if (wanted !== undefined) await chmod(tmp, wanted);
      await rename(tmp, posix.join(via, posix.basename(real)));
    } catch (err) {
      await unlink(tmp).catch(() => {});
      if (err instanceof SandboxdError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && opts.mkdirs === false)
        throw new SandboxdError('not_found', `parent directory does not exist: ${display}`);
      if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ABORT_ERR') {
        throw new SandboxdError('invalid_argument', 'upload aborted before the body was complete', {
          cause: err,
        });
      }
      throw fsError(err, display);
    } finally {
      await dirHandle.close().catch(() => undefined);
    }
    return { path: display, bytes };
  }

  async mkdir(path: unknown, opts: { parents?: boolean; mode?: unknown } = {}): Promise<FileInfo> {
    const mode = parseMode(opts.mode);
    const { display, real } = await this.policy.resolve(path, true);
    try {
      if (opts.parents === false) await mkdir(real, mode === undefined ? undefined : { mode });
      else {
        await mkdir(real, { recursive: true, ...(mode === undefined ? {} : { mode }) });
        const st = await stat(real);
        if (!st.isDirectory()) throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
      }
    } catch (err) {
      throw fsError(err, display);
    }
    return this.info(display, real);
  }

  async remove(path: unknown, opts: { recursive?: boolean } = {}): Promise<void> {
    const { display, real } = await this.policy.resolve(path, false);
    if (this.policy.isRoot(display))
      throw new SandboxdError('invalid_argument', `cannot remove an allowed root: ${display}`);
    try {
      const st = await lstat(real);
      if (!st.isDirectory()) await unlink(real);
      else if (opts.recursive) await rm(real, { recursive: true, force: false });
      else await rmdir(real);
    } catch (err) {
      throw fsError(err, display);
    }
  }

  async rename(from: unknown, to: unknown, opts: { overwrite?: boolean } = {}): Promise<FileInfo> {
    const src = await this.policy.resolve(from, false);
    const dst = await this.policy.resolve(to, false);
    for (const p of [src, dst]) {
      if (this.policy.isRoot(p.display))
        throw new SandboxdError('invalid_argument', `cannot rename an allowed root: ${p.display}`);
    }
    try {
      await lstat(src.real);
    } catch (err) {
      throw fsError(err, src.display);
    }
    if (opts.overwrite !== true) {
      const exists = await lstat(dst.real).then(
        () => true,
        () => false,
      );
      if (exists) throw new SandboxdError('exists', `already exists: ${dst.display}`);
    }
    try {
      await mkdir(posix.dirname(dst.real), { recursive: true });
      await rename(src.real, dst.real);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw fsError(err, dst.display);
      // Across filesystems (e.g. /tmp → /workspace): copy, then delete the source.
      try {
        await cp(src.real, dst.real, {
          recursive: true,
          force: true,
          preserveTimestamps: true,
          verbatimSymlinks: true,
        });
        await rm(src.real, { recursive: true, force: true });
      } catch (err2) {
        throw fsError(err2, dst.display);
      }
    }
    return this.info(dst.display, dst.real);
  }

  /**
   * Watches a directory (recursively by default). Events are coalesced per path over ~50 ms; `created`
   * vs `deleted` is decided by whether the path exists when the event is delivered.
   */
  async watch(
    path: unknown,
    opts: { recursive?: boolean },
    onEvent: (e: WatchEvent) => void,
    onError: (err: SandboxdError) => void,
  ): Promise<{ close(): void }> {
    const { display, real } = await this.policy.resolve(path, true);
    let st;
    try {
      st = await stat(real);
    } catch (err) {
      throw fsError(err, display);
    }
    if (!st.isDirectory()) throw new SandboxdError('not_a_directory', `not a directory: ${display}`);
    const pending = new Map<string, 'rename' | 'change'>();
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const flush = async (): Promise<void> => {
      timer = undefined;
      const batch = [...pending];
      pending.clear();
      for (const [rel, kind] of batch) {
        if (closed) return;
        const exists = await lstat(posix.join(real, rel)).then(
          () => true,
          () => false,
        );
        const type: WatchEvent['type'] = !exists ? 'deleted' : kind === 'rename' ? 'created' : 'modified';
        onEvent({ type, path: posix.join(display, rel) });
      }
    };
    let tree: { close(): void };
    try {
      tree = await watchDirTree({
        root: real,
        recursive: opts.recursive !== false,
        budget: this.watchBudget,
        onRaw: (rel, kind) => {
          if (closed) return;
          const prev = pending.get(rel);
          pending.set(rel, prev === 'rename' || kind === 'rename' ? 'rename' : 'change');
          timer ??= setTimeout(() => void flush(), 50);
        },
        onError: (err) => {
          if (!closed) onError(err instanceof SandboxdError ? err : fsError(err, display));
        },
      });
    } catch (err) {
      throw err instanceof SandboxdError ? err : fsError(err, display);
    }
    return {
      close() {
        closed = true;
        clearTimeout(timer);
        tree.close();
      },
    };
  }

  private async info(display: string, real: string): Promise<FileInfo> {
    let st: Stats;
    try {
      st = await lstat(real);
    } catch (err) {
      throw fsError(err, display);
    }
    const out: FileInfo = {
      name: posix.basename(display),
      path: display,
      isDir: st.isDirectory(),
      isFile: st.isFile(),
      isSymlink: st.isSymbolicLink(),
      size: st.size,
      mode: st.mode & 0o7777,
      modeString: modeString(st),
      modifiedAt: st.mtime.toISOString(),
    };
    if (st.isSymbolicLink()) {
      try {
        out.symlinkTarget = await readlink(real);
        // Say whether it leads to a directory, but only when the target is inside the allowed roots.
        const target = await this.policy.resolve(
          posix.resolve(posix.dirname(display), out.symlinkTarget),
          true,
        );
        const tst = await stat(target.real);
        out.isDir = tst.isDirectory();
        out.isFile = tst.isFile();
      } catch {
        // dangling or outside: report the link itself
      }
    }
    return out;
  }
}
