import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ExecResponse, FileEntry, FileList, FileWriteResult, Sandbox } from '@agenttier/contract';
import { MAX_FILE_BYTES, PlatformError, execRequestSchema, parseOrThrow } from '@agenttier/contract';
import type { DataPlane, Store } from '@agenttier/core';
import { tarToZip } from '../data-plane/archive-zip.ts';
import { confinePath, safeFilename } from '../paths.ts';
import type { SandboxService } from '../sandbox-service.ts';
import { requireRunning } from '../sandbox-service.ts';
import { sandboxOfRequest } from '../auth/request-sandbox.ts';
import { fileRootsOf } from './sandboxd-access.ts';
import type { FileRoute, SandboxRequest, SandboxRoute } from './route-input.ts';

export interface DataPlaneRouteDeps {
  store: Store;
  sandboxes: SandboxService;
  dataPlaneFor: (sandbox: Sandbox) => Promise<DataPlane>;
  /** Per-stream cap of unary exec output. @default 8 MiB */
  maxExecOutputBytes?: number;
  /** Sum of file sizes in one archive. @default MAX_FILE_BYTES (32 MiB, the cap "each way") */
  maxArchiveBytes?: number;
  /** Files, directories and links in one archive. @default 100,000 */
  maxArchiveEntries?: number;
}

const DEFAULT_MAX_ARCHIVE_ENTRIES = 100_000;

const DEFAULT_EXEC_TIMEOUT_SEC = 30;

const rootsOf = fileRootsOf;

/** exec, files and archive: everything that reaches inside a running sandbox. */
export function registerDataPlaneRoutes(app: FastifyInstance, deps: DataPlaneRouteDeps): void {
  const running = async (req: SandboxRequest) => {
    const sb = await sandboxOfRequest(deps.store, req);
    requireRunning(sb);
    void deps.sandboxes.touch(sb, Date.now());
    return { sb, plane: await deps.dataPlaneFor(sb) };
  };

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/exec', async (req): Promise<ExecResponse> => {
    const body = parseOrThrow(execRequestSchema, req.body ?? {}, 'exec request');
    const { sb, plane } = await running(req);
    const argv = typeof body.command === 'string' ? ['/bin/sh', '-c', body.command] : body.command;
    const controller = new AbortController();
    req.raw.on('close', () => {
      if (!req.raw.complete || req.raw.destroyed) controller.abort();
    });
    const r = await plane.exec(
      sb,
      {
        argv,
        timeoutMs: (body.timeout ?? DEFAULT_EXEC_TIMEOUT_SEC) * 1000,
        maxOutputBytes: deps.maxExecOutputBytes ?? 8 * 1024 * 1024,
        ...(body.env ? { env: body.env } : {}),
        ...(body.cwd ? { cwd: body.cwd } : {}),
        ...(body.stdin !== undefined ? { stdin: Buffer.from(body.stdin) } : {}),
      },
      controller.signal,
    );
    return {
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      timedOut: r.timedOut,
      truncated: r.truncated,
    };
  });

  // Files: an encapsulated plugin so its raw-bytes body parser does not apply to JSON routes.
  void app.register(async (files) => {
    files.removeAllContentTypeParsers();
    files.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_FILE_BYTES }, (_req, body, done) =>
      done(null, body),
    );

    files.get<FileRoute<'path'>>('/api/v1/sandboxes/:id/files/*', async (req, reply) => {
      const { sb, plane } = await running(req);
      const wildcard = req.params['*'];
      if (!wildcard) {
        const q = req.query;
        const path = confinePath(q.path ?? rootsOf(sb)[0]!, rootsOf(sb));
        const entries: FileEntry[] = (await plane.list(sb, path)).map((e) => ({ ...e }));
        const listing: FileList = { path, entries };
        return listing;
      }
      const path = confinePath(`/${wildcard}`, rootsOf(sb));
      const { size, body } = await plane.read(sb, path, MAX_FILE_BYTES);
      reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', size)
        .header('content-disposition', `attachment; filename="${safeFilename(path)}"`)
        .header('x-content-type-options', 'nosniff');
      return reply.send(Readable.from(body));
    });

    files.put<FileRoute>('/api/v1/sandboxes/:id/files/*', async (req, reply) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > MAX_FILE_BYTES) {
        throw new PlatformError(
          'PAYLOAD_TOO_LARGE',
          `payload exceeds ${MAX_FILE_BYTES} bytes; use the terminal or split the file`,
        );
      }
      const { sb, plane } = await running(req);
      const wildcard = req.params['*'];
      if (!wildcard)
        throw new PlatformError(
          'BAD_REQUEST',
          'give the file path after /files/, e.g. PUT /files/workspace/notes.txt',
        );
      const path = confinePath(`/${wildcard}`, rootsOf(sb));
      if (rootsOf(sb).includes(path)) throw new PlatformError('BAD_REQUEST', `${path} is a directory`);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const { bytes } = await plane.write(sb, path, body);
      reply.code(201);
      const written: FileWriteResult = { path, bytes };
      return written;
    });
  });

  app.get<SandboxRoute<'path'>>('/api/v1/sandboxes/:id/archive', async (req, reply) => {
    const { sb, plane } = await running(req);
    const q = req.query;
    const path = confinePath(q.path ?? rootsOf(sb)[0]!, rootsOf(sb));
    const limits = {
      maxBytes: deps.maxArchiveBytes ?? MAX_FILE_BYTES,
      maxEntries: deps.maxArchiveEntries ?? DEFAULT_MAX_ARCHIVE_ENTRIES,
    };
    // A directory over the limits is refused here, before the 200; past this point a violation can
    // only break the download.
    const tarStream = await plane.archiveTar(sb, path, limits);
    const zip = tarToZip(tarStream, {
      top: posix.basename(path) || 'root',
      ...limits,
      onError: (err) => {
        req.log.warn({ err: String(err) }, 'archive stopped');
        if (reply.raw.headersSent) reply.raw.destroy(); // else `started` rejects: a clean error answer
      },
    });
    await zip.started;
    reply
      .header('content-type', 'application/zip')
      .header(
        'content-disposition',
        `attachment; filename="${sb.metadata.name}-${safeFilename(posix.basename(path), 'workspace')}.zip"`,
      )
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff');
    return reply.send(zip);
  });
}
