import type * as Fs from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import type * as NodePath from 'node:path';
import type * as NodeStream from 'node:stream';
import type * as StreamPromises from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { FileEntry } from '@agenttier/contract';
import { MAX_FILE_BYTES } from '@agenttier/contract';
import { nodeModule } from './node-only.ts';
import {
  AgentTierError,
  ConnectionError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from './errors.ts';
import type { HttpClient, Query } from './http.ts';
import { encodePath } from './http.ts';
import type { CallOpts } from './types.ts';

export const DEFAULT_WORKDIR = '/workspace';

/** One change under a watched directory. */
export interface FileChange {
  type: 'created' | 'modified' | 'deleted';
  path: string;
}

/** Result of a write, upload, download or archive: where the bytes went and how many. */
export interface TransferResult {
  path: string;
  bytes: number;
}

/**
 * Makes a sandbox path absolute and clean: relative paths are taken from `/workspace`, `.` and `..`
 * are resolved, duplicate slashes dropped.
 */
export function normalizeRemotePath(path: string, base = DEFAULT_WORKDIR): string {
  const full = path.startsWith('/') ? path : `${base}/${path}`;
  const out: string[] = [];
  for (const part of full.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

function tooLarge(what: string, bytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`${what} is ${bytes} bytes, over the ${MAX_FILE_BYTES}-byte file limit`, {
    code: 'PAYLOAD_TOO_LARGE',
    hint: 'Split the file, or compress it and unpack it inside the sandbox with exec',
  });
}

/**
 * Files of one sandbox (`sandbox.files`). Paths are sandbox paths; relative ones start at `/workspace`.
 * Single files are capped at 32 MiB by the server.
 */
export class SandboxFiles {
  /** @internal */
  constructor(
    private readonly http: HttpClient,
    private readonly basePath: string,
    private readonly query: () => Query,
  ) {}

  private filePath(path: string): string {
    return `${this.basePath}/files/${encodePath(normalizeRemotePath(path).slice(1))}`;
  }

  /**
   * Lists a directory.
   * @example
   * ```ts
   * for (const entry of await sandbox.files.list('/workspace')) console.log(entry.name, entry.isDir);
   * ```
   */
  async list(path: string = DEFAULT_WORKDIR, opts: CallOpts = {}): Promise<FileEntry[]> {
    const dir = normalizeRemotePath(path);
    const res = await this.http.json<{ entries?: FileEntry[] | null }>({
      method: 'GET',
      path: `${this.basePath}/files/`,
      query: { ...this.query(), path: dir },
      signal: opts.signal,
    });
    return (res?.entries ?? []).map((e) => ({ ...e, path: e.path ?? `${dir === '/' ? '' : dir}/${e.name}` }));
  }

  /**
   * Describes one path. Throws NotFoundError when it does not exist.
   * @example
   * ```ts
   * const entry = await sandbox.files.stat('/workspace/src');
   * if (entry.isDir) console.log('a directory');
   * ```
   */
  async stat(path: string, opts: CallOpts = {}): Promise<FileEntry> {
    const full = normalizeRemotePath(path);
    try {
      return await this.http.json<FileEntry>({
        method: 'GET',
        path: `${this.basePath}/fs/stat`,
        query: { ...this.query(), path: full },
        signal: opts.signal,
      });
    } catch (err) {
      // A sandbox without its daemon (UNAVAILABLE) or an older server without the route (NOT_FOUND,
      // not FILE_NOT_FOUND): describe the path from a listing of its parent.
      const fallback =
        err instanceof AgentTierError && (err.code === 'UNAVAILABLE' || err.code === 'NOT_FOUND');
      if (!fallback) throw err;
      return this.statByListing(full, opts);
    }
  }

  private async statByListing(full: string, opts: CallOpts): Promise<FileEntry> {
    if (full === '/') {
      return { name: '/', path: '/', size: 0, isDir: true, mode: 'drwxr-xr-x', modifiedAt: 0 };
    }
    const slash = full.lastIndexOf('/');
    const parent = slash === 0 ? '/' : full.slice(0, slash);
    const name = full.slice(slash + 1);
    let siblings: FileEntry[];
    try {
      siblings = await this.list(parent, opts);
    } catch (err) {
      // The parent may lie outside the file roots the server allows (e.g. `/` for `/workspace`):
      // a path that lists is a directory.
      if (!(err instanceof ForbiddenError || err instanceof ValidationError)) throw err;
      await this.list(full, opts);
      return { name, path: full, size: 0, isDir: true, mode: 'drwxr-xr-x', modifiedAt: 0 };
    }
    const entry = siblings.find((e) => e.name === name);
    if (!entry) {
      throw new NotFoundError(`path not found: ${full}`, {
        code: 'FILE_NOT_FOUND',
        status: 404,
        hint: `List the directory with files.list('${parent}')`,
      });
    }
    return entry;
  }

  /**
   * Creates a directory; `parents: true` creates missing parents and accepts an existing directory.
   * @example
   * ```ts
   * await sandbox.files.mkdir('/workspace/out/logs', { parents: true });
   * ```
   */
  async mkdir(path: string, opts: CallOpts & { parents?: boolean } = {}): Promise<FileEntry> {
    return this.http.json<FileEntry>({
      method: 'POST',
      path: `${this.basePath}/fs/mkdir`,
      query: this.query(),
      json: { path: normalizeRemotePath(path), parents: opts.parents ?? false },
      signal: opts.signal,
    });
  }

  /**
   * Renames (moves) a file or directory within the sandbox's file roots.
   * @example
   * ```ts
   * await sandbox.files.rename('draft.md', 'final.md'); // both under /workspace
   * ```
   */
  async rename(from: string, to: string, opts: CallOpts & { overwrite?: boolean } = {}): Promise<FileEntry> {
    return this.http.json<FileEntry>({
      method: 'POST',
      path: `${this.basePath}/fs/rename`,
      query: this.query(),
      json: {
        from: normalizeRemotePath(from),
        to: normalizeRemotePath(to),
        overwrite: opts.overwrite ?? false,
      },
      signal: opts.signal,
    });
  }

  /**
   * Removes a file, or a directory with `recursive: true` (an empty one without).
   * @example
   * ```ts
   * await sandbox.files.remove('/workspace/build', { recursive: true });
   * ```
   */
  async remove(path: string, opts: CallOpts & { recursive?: boolean } = {}): Promise<void> {
    await this.http.call(
      {
        method: 'DELETE',
        path: this.filePath(path),
        query: { ...this.query(), ...(opts.recursive ? { recursive: 'true' } : {}) },
        signal: opts.signal,
      },
      async () => undefined,
    );
  }

  /**
   * Streams changes under a directory (recursively unless `recursive: false`) until the signal aborts
   * or the loop breaks.
   * @example
   * ```ts
   * const ctl = new AbortController();
   * for await (const change of sandbox.files.watch('/workspace', { signal: ctl.signal })) {
   *   console.log(change.type, change.path); // created | modified | deleted
   * }
   * ```
   */
  async *watch(
    path: string = DEFAULT_WORKDIR,
    opts: CallOpts & { recursive?: boolean } = {},
  ): AsyncGenerator<FileChange> {
    const { events } = await this.http.openEvents({
      method: 'GET',
      path: `${this.basePath}/fs/watch`,
      query: {
        ...this.query(),
        path: normalizeRemotePath(path),
        recursive: opts.recursive === false ? 'false' : 'true',
      },
      signal: opts.signal,
    });
    try {
      for await (const ev of events) {
        if (ev.event === 'change') yield JSON.parse(ev.data) as FileChange;
        else if (ev.event === 'error') {
          const e = JSON.parse(ev.data) as { code?: string; message?: string };
          throw new ConnectionError(`watching ${path} failed: ${e.message ?? 'unknown error'}`, {
            code: e.code ?? 'WATCH_FAILED',
            hint: 'Start the watch again',
          });
        }
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    } finally {
      await events.return(undefined);
    }
  }

  /**
   * Reads a whole file into memory.
   * @example
   * ```ts
   * const bytes = await sandbox.files.read('/workspace/out.bin');
   * ```
   */
  async read(path: string, opts: CallOpts = {}): Promise<Uint8Array> {
    return this.http.call(
      { method: 'GET', path: this.filePath(path), query: this.query(), signal: opts.signal },
      async (res) => new Uint8Array(await res.arrayBuffer()),
    );
  }

  /**
   * Reads a file as UTF-8 text.
   * @example
   * ```ts
   * const readme = await sandbox.files.readText('README.md'); // /workspace/README.md
   * ```
   */
  async readText(path: string, opts: CallOpts = {}): Promise<string> {
    return new TextDecoder().decode(await this.read(path, opts));
  }

  /**
   * Writes a file (parents are created). Strings are written as UTF-8.
   * @example
   * ```ts
   * await sandbox.files.write('/workspace/hello.py', 'print("hi")\n');
   * ```
   */
  async write(path: string, data: string | Uint8Array | Blob, opts: CallOpts = {}): Promise<TransferResult> {
    const body = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const size = body instanceof Blob ? body.size : body.byteLength;
    if (size > MAX_FILE_BYTES) throw tooLarge('the data', size);
    const res = await this.http.json<Partial<TransferResult> | undefined>({
      method: 'PUT',
      path: this.filePath(path),
      query: this.query(),
      body,
      headers: { 'Content-Type': 'application/octet-stream' },
      signal: opts.signal,
    });
    return { path: res?.path ?? normalizeRemotePath(path), bytes: res?.bytes ?? size };
  }

  /**
   * Uploads a local file (Node only).
   * @example
   * ```ts
   * await sandbox.files.upload('./data.csv', '/workspace/data.csv');
   * ```
   */
  async upload(localPath: string, remotePath: string, opts: CallOpts = {}): Promise<TransferResult> {
    const fs = nodeModule<typeof FsPromises>('node:fs/promises', 'files.upload(localPath)');
    const info = await fs.stat(localPath);
    if (!info.isFile()) throw new TypeError(`${localPath} is not a regular file`);
    if (info.size > MAX_FILE_BYTES) throw tooLarge(localPath, info.size);
    const data = await fs.readFile(localPath, opts.signal ? { signal: opts.signal } : {});
    return this.write(remotePath, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), opts);
  }

  /**
   * Downloads a file to a local path (Node only), streaming it to disk. The file appears atomically:
   * bytes go to a temporary file next to it that is renamed when complete.
   * @example
   * ```ts
   * await sandbox.files.download('/workspace/report.pdf', './report.pdf');
   * ```
   */
  async download(remotePath: string, localPath: string, opts: CallOpts = {}): Promise<TransferResult> {
    const res = await this.http.open({
      method: 'GET',
      path: this.filePath(remotePath),
      query: this.query(),
      headers: { Accept: 'application/octet-stream' },
      signal: opts.signal,
    });
    return { path: localPath, bytes: await saveBody(res, localPath, opts.signal) };
  }

  /**
   * Downloads a directory as a zip file (Node only), streamed to disk.
   * @example
   * ```ts
   * await sandbox.files.archive('/workspace/src', './src.zip');
   * ```
   */
  async archive(path: string, localZip: string, opts: CallOpts = {}): Promise<TransferResult> {
    const res = await this.http.open({
      method: 'GET',
      path: `${this.basePath}/archive`,
      query: { ...this.query(), path: normalizeRemotePath(path) },
      headers: { Accept: 'application/zip' },
      signal: opts.signal,
    });
    return { path: localZip, bytes: await saveBody(res, localZip, opts.signal) };
  }
}

/** Streams a response body into `localPath` via a temporary sibling; returns the byte count. */
async function saveBody(res: Response, localPath: string, signal?: AbortSignal): Promise<number> {
  const what = 'saving a download to a local path';
  const { createWriteStream } = nodeModule<typeof Fs>('node:fs', what);
  const fs = nodeModule<typeof FsPromises>('node:fs/promises', what);
  const { Readable, Transform } = nodeModule<typeof NodeStream>('node:stream', what);
  const { pipeline } = nodeModule<typeof StreamPromises>('node:stream/promises', what);
  const pathMod = nodeModule<typeof NodePath>('node:path', what);
  const tmp = pathMod.join(
    pathMod.dirname(localPath),
    `.${pathMod.basename(localPath)}.${process.pid}.${Date.now()}.part`,
  );
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    const source = res.body ? Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) : Readable.from([]);
    await pipeline(source, counter, createWriteStream(tmp), signal ? { signal } : {});
    await fs.rename(tmp, localPath);
    return bytes;
  } catch (err) {
    await fs.rm(tmp, { force: true });
    if (signal?.aborted) throw signal.reason;
    if (err instanceof TypeError) {
      throw new ConnectionError(`connection lost while downloading to ${localPath}`, {
        code: 'CONNECTION_FAILED',
        hint: 'Retry the download',
        cause: err,
      });
    }
    throw err;
  }
}
