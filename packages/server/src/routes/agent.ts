import type { FastifyInstance, FastifyReply } from 'fastify';
import type { InstallLog, InvokeRecord, Sandbox } from '@agenttier/contract';
import { PlatformError, parseDurationMs } from '@agenttier/contract';
import type { AgentRecordStore, RecordedEvent, Store } from '@agenttier/core';
import type { AgentService } from '../agent/agent-service.ts';
import { MAX_INVOKE_BODY_BYTES } from '../agent/agent-service.ts';
import { parseConfigureRequest } from '../agent/configure-request.ts';
import type { InvokeRun } from '../agent/invoke-run.ts';
import { SseStream } from '../agent/sse.ts';
import { confinePath } from '../paths.ts';
import { requireRunning } from '../sandbox-service.ts';
import { sandboxOfRequest } from '../auth/request-sandbox.ts';
import type { InvokeRoute, SandboxRequest, SandboxRoute } from './route-input.ts';

export interface AgentRouteDeps {
  store: Store;
  records: AgentRecordStore;
  agent: AgentService;
}

/** Unsent bytes after which a viewer of a live invoke is disconnected. */
export const SLOW_VIEWER_BYTES = 8 * 1024 * 1024;

function openSse(reply: FastifyReply, requestId: string, headers?: Record<string, string>): SseStream {
  void reply.hijack();
  return new SseStream(reply.raw, { requestId, ...(headers ? { headers } : {}) });
}

/** Replays recorded events after `afterId`, then follows the live run until its `exit`. @internal */
export async function streamInvoke(
  sse: SseStream,
  run: InvokeRun | undefined,
  records: AgentRecordStore,
  invokeId: string,
  afterId: number,
) {
  let last = afterId;
  const send = (e: RecordedEvent) => {
    if (e.id <= last) return;
    last = e.id;
    // A live run cannot wait for one slow viewer, so a viewer this far behind is let go instead of
    // queueing without end; it re-attaches with Last-Event-ID and replays from the record.
    if (!sse.send(e.event, e.data, e.id) && sse.bufferedBytes > SLOW_VIEWER_BYTES) sse.abort();
  };
  if (run?.isRunning) {
    // Synchronous hand-over: the buffered events and the subscription happen in one tick.
    const done = new Promise<void>((resolve) => {
      const onEvent = (e: RecordedEvent) => {
        send(e);
        if (e.event === 'exit') {
          run.off('event', onEvent);
          resolve();
        }
      };
      for (const e of run.eventsAfter(afterId)) send(e);
      run.on('event', onEvent);
      sse.onClose(() => {
        run.off('event', onEvent);
        resolve();
      });
    });
    await done;
  } else {
    for (;;) {
      const page = await records.readEvents(invokeId, last, 1000);
      for (const e of page) send(e);
      if (page.length < 1000 || !sse.isOpen) break;
    }
  }
  sse.end();
}

type InvokeStartRoute = SandboxRoute<'prompt' | 'timeout' | 'detach'>;

export function registerAgentRoutes(app: FastifyInstance, deps: AgentRouteDeps): void {
  const { store, agent, records } = deps;
  const lookup = (req: SandboxRequest): Promise<Sandbox> => sandboxOfRequest(store, req);
  /** The invoke's record (live, else stored), only when it belongs to `sb`: another sandbox's is not found. */
  const invokeOf = async (sb: Sandbox, invokeId: string): Promise<InvokeRecord> => {
    const record = agent.run(invokeId)?.record ?? (await records.getInvoke(invokeId));
    if (
      !record ||
      record.sandbox !== sb.metadata.name ||
      record.namespace !== (sb.metadata.namespace ?? 'default')
    ) {
      throw new PlatformError(
        'INVOKE_NOT_FOUND',
        `invoke ${invokeId} not found for sandbox ${sb.metadata.name}`,
      );
    }
    return record;
  };

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/configure', async (req, reply) => {
    const sb = await lookup(req);
    agent.requireAgentMode(sb, 'configure');
    requireRunning(sb);
    const roots = [sb.spec.storage?.mountPath ?? '/workspace', '/tmp'];
    const { req: body, files } = parseConfigureRequest(req.body, (p) => confinePath(p, roots));
    const sse = openSse(reply, String(req.id));
    const abort = new AbortController();
    reply.raw.on('close', () => abort.abort());
    try {
      await agent.configure(sb, body, files, (event, data) => sse.send(event, data), abort.signal);
    } catch (err) {
      sse.send('error', { phase: 'install', message: (err as Error).message });
    }
    sse.end();
  });

  // Readable by viewers: it shows no more than the install log does (the install argv), file paths
  // without contents, and env names without values.
  app.get<SandboxRoute>('/api/v1/sandboxes/:id/agent/config', async (req) => {
    const sb = await lookup(req);
    agent.requireAgentMode(sb, 'agent/config');
    return agent.config(sb);
  });

  app.get<SandboxRoute>('/api/v1/sandboxes/:id/configure/install-log', async (req): Promise<InstallLog> => {
    const sb = await lookup(req);
    const log = await records.getInstallLog(sb.metadata.namespace ?? 'default', sb.metadata.name);
    if (log === undefined)
      throw new PlatformError(
        'NOT_FOUND',
        'no install log available for this sandbox; run POST /configure with an installCommand first',
      );
    return { log };
  });

  void app.register(async (raw) => {
    // The invoke body is the process's stdin: any content type, raw bytes, 16 MiB at most.
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_INVOKE_BODY_BYTES },
      (_req, body, done) => done(null, body),
    );
    raw.addHook('onRequest', async (req) => {
      if (Number(req.headers['content-length'] ?? 0) > MAX_INVOKE_BODY_BYTES) {
        throw new PlatformError('PAYLOAD_TOO_LARGE', `request body exceeds ${MAX_INVOKE_BODY_BYTES} bytes`);
      }
    });

    raw.post<InvokeStartRoute>('/api/v1/sandboxes/:id/invoke', async (req, reply) => {
      const sb = await lookup(req);
      agent.requireAgentMode(sb, 'invoke');
      requireRunning(sb);
      const q = req.query;
      let timeoutMs: number | undefined;
      if (q.timeout !== undefined) {
        timeoutMs = parseDurationMs(q.timeout);
        if (!timeoutMs)
          throw new PlatformError(
            'VALIDATION_FAILED',
            `invalid timeout "${q.timeout}": use a positive duration such as 30s or 5m`,
          );
      }
      const detached = q.detach === 'true' || q.detach === '1';
      const run = await agent.invoke(sb, {
        stdin: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        ...(q.prompt !== undefined ? { prompt: q.prompt } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        detached,
      });
      const sse = openSse(reply, String(req.id), { 'x-invoke-id': run.id });
      // Closing the connection cancels the run, unless the caller asked for a detached run.
      reply.raw.on('close', () => {
        if (!detached && run.isRunning) void run.cancel('canceled');
      });
      await streamInvoke(sse, run, records, run.id, 0);
    });

    raw.post<SandboxRoute>('/api/v1/sandboxes/:id/invoke/cancel', async (req, reply) => {
      const sb = await lookup(req);
      agent.requireAgentMode(sb, 'invoke');
      let invokeId: unknown;
      try {
        invokeId = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString('utf8') || '{}' : '{}').invokeId;
      } catch {
        throw new PlatformError('INVALID_JSON', 'request body is not valid JSON; send {"invokeId": "inv-…"}');
      }
      if (typeof invokeId !== 'string' || !invokeId)
        throw new PlatformError('VALIDATION_FAILED', 'invokeId is required in request body');
      await agent.cancel(sb, invokeId);
      reply.code(204);
      return null;
    });
  });

  app.get<SandboxRoute<'limit'>>('/api/v1/sandboxes/:id/invokes', async (req) => {
    const sb = await lookup(req);
    const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 100) || 100));
    const list = await records.listInvokes(sb.metadata.namespace ?? 'default', sb.metadata.name, limit);
    return { invokes: list.map((r) => agent.run(r.invokeId)?.record ?? r) };
  });

  app.get<InvokeRoute>('/api/v1/sandboxes/:id/invokes/:invokeId', async (req) => {
    const sb = await lookup(req);
    return invokeOf(sb, req.params.invokeId);
  });

  app.get<InvokeRoute<'after'>>('/api/v1/sandboxes/:id/invokes/:invokeId/stream', async (req, reply) => {
    const sb = await lookup(req);
    const { invokeId } = req.params;
    await invokeOf(sb, invokeId); // another sandbox's invoke is not found
    const header = req.headers['last-event-id'];
    const after = Number((typeof header === 'string' ? header : undefined) ?? req.query.after ?? 0);
    if (!Number.isInteger(after) || after < 0)
      throw new PlatformError('BAD_REQUEST', 'Last-Event-ID must be a non-negative integer');
    const sse = openSse(reply, String(req.id));
    await streamInvoke(sse, agent.run(invokeId), records, invokeId, after);
  });
}
