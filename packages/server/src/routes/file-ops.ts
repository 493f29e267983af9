import type { FastifyInstance } from 'fastify';
import { PlatformError, mkdirRequestSchema, parseOrThrow, renameRequestSchema } from '@agenttier/contract';
import { SseStream } from '../agent/sse.ts';
import { fileInfoFromDaemon, watchEventFromDaemon } from '../data-plane/daemon-answers.ts';
import { fromSandboxdError } from '../data-plane/sandboxd-data-plane.ts';
import { confinePath } from '../paths.ts';
import type { SandboxdRouteDeps } from './sandboxd-access.ts';
import { callSandboxd, fileRootsOf, sandboxdOf } from './sandboxd-access.ts';
import type { FileRoute, SandboxRequest, SandboxRoute } from './route-input.ts';

export type FileOpsRouteDeps = SandboxdRouteDeps;

/** `?path=` exactly once: a repeated parameter arrives as an array. */
function queryPath(query: unknown): string {
  const path = (query as { path?: unknown }).path;
  if (typeof path !== 'string' || !path) {
    throw new PlatformError('BAD_REQUEST', 'give one path, e.g. ?path=/workspace/src', {
      details: [{ field: 'path', rule: 'required', message: 'exactly one path is required' }],
    });
  }
  return path;
}

const truthy = (v: unknown) => v === 'true' || v === '1' || v === true;
const falsy = (v: unknown) => v === 'false' || v === '0' || v === false;

/**
 * The rest of the file system API beside read/write/list (data-plane.ts): stat, mkdir, rename,
 * remove and a change feed. Served by sandboxd, with every path through the same confinement as the
 * file routes; the roots themselves can be neither removed nor renamed.
 */
export function registerFileOpsRoutes(app: FastifyInstance, deps: FileOpsRouteDeps): void {
  const target = async (req: SandboxRequest) => {
    const { sb, client } = await sandboxdOf(deps, req, 'use POST /exec for file operations');
    const roots = fileRootsOf(sb);
    const confine = (path: string) => confinePath(path, roots);
    const notRoot = (path: string, what: string) => {
      if (roots.includes(path))
        throw new PlatformError('BAD_REQUEST', `cannot ${what} ${path}: it is a root`);
      return path;
    };
    return { sb, client, confine, notRoot };
  };

  // Open change feeds, ended when the server closes (a feed otherwise never finishes on its own).
  const feeds = new Set<{ close(): void }>();
  app.addHook('preClose', async () => {
    for (const f of feeds) f.close();
    feeds.clear();
  });

  app.get<SandboxRoute<'path' | 'recursive'>>('/api/v1/sandboxes/:id/fs/stat', async (req) => {
    const { client, confine } = await target(req);
    const path = confine(queryPath(req.query));
    return fileInfoFromDaemon(await callSandboxd(() => client.files.stat(path)));
  });

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/fs/mkdir', async (req, reply) => {
    const { client, confine } = await target(req);
    const body = parseOrThrow(mkdirRequestSchema, req.body ?? {}, 'mkdir request');
    const path = confine(body.path);
    const info = await callSandboxd(() => client.files.mkdir(path, { parents: body.parents ?? false }));
    reply.code(201);
    return fileInfoFromDaemon(info);
  });

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/fs/rename', async (req) => {
    const { client, confine, notRoot } = await target(req);
    const body = parseOrThrow(renameRequestSchema, req.body ?? {}, 'rename request');
    const from = notRoot(confine(body.from), 'rename');
    const to = notRoot(confine(body.to), 'replace');
    return fileInfoFromDaemon(
      await callSandboxd(() => client.files.rename(from, to, { overwrite: body.overwrite ?? false })),
    );
  });

  app.delete<FileRoute<'recursive'>>('/api/v1/sandboxes/:id/files/*', async (req, reply) => {
    const { client, confine, notRoot } = await target(req);
    const wildcard = req.params['*'];
    if (!wildcard) {
      throw new PlatformError(
        'BAD_REQUEST',
        'give the path after /files/, e.g. DELETE /files/workspace/old.txt',
      );
    }
    const path = notRoot(confine(`/${wildcard}`), 'remove');
    const recursive = truthy(req.query.recursive);
    await callSandboxd(() => client.files.remove(path, { recursive }));
    return reply.code(204).send();
  });

  // Change feed: `ready`, then SSE `change` events {type: created|modified|deleted, path} until the
  // client leaves.
  app.get<SandboxRoute<'path' | 'recursive'>>('/api/v1/sandboxes/:id/fs/watch', async (req, reply) => {
    const { client, confine } = await target(req);
    const q = req.query;
    const path = confine(queryPath(req.query));
    const recursive = !falsy(q.recursive); // recursive unless asked otherwise
    const watcher = await callSandboxd(() => client.files.watch(path, { recursive }));
    void reply.hijack();
    const sse = new SseStream(reply.raw, { requestId: String(req.id) });
    const feed = {
      close: () => {
        watcher.close();
        reply.raw.destroy();
      },
    };
    feeds.add(feed);
    sse.onClose(() => {
      feeds.delete(feed);
      watcher.close();
    });
    sse.send('ready', { path, recursive });
    try {
      for await (const ev of watcher) {
        const change = watchEventFromDaemon(ev);
        if (!sse.send('change', { type: change.type, path: change.path })) await sse.drained();
        if (!sse.isOpen) break;
      }
    } catch (err) {
      const mapped = fromSandboxdError(err) as PlatformError;
      sse.send('error', { code: mapped.code ?? 'INTERNAL', message: mapped.message });
    }
    watcher.close();
    sse.end();
  });
}
