import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  MAX_EXEC_TIMEOUT_SECONDS,
  PlatformError,
  execRequestSchema,
  parseOrThrow,
  signalRequestSchema,
  startProcessRequestSchema,
} from '@agenttier/contract';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { SseStream } from '../agent/sse.ts';
import {
  attachErrorFromDaemon,
  attachStartFromDaemon,
  exitFromDaemon,
  processFromDaemon,
  processListFromDaemon,
} from '../data-plane/daemon-answers.ts';
import type { SandboxdRouteDeps } from './sandboxd-access.ts';
import { callProcess, callSandboxd, sandboxdOf } from './sandboxd-access.ts';
import type { ProcessRoute, SandboxRequest, SandboxRoute } from './route-input.ts';

export type ProcessRouteDeps = SandboxdRouteDeps;

/**
 * Streaming exec (SSE) and background processes, served by sandboxd. Output events carry the byte
 * offset as their id, so a client re-attaching with Last-Event-ID resumes where it stopped.
 */
export function registerProcessRoutes(app: FastifyInstance, deps: ProcessRouteDeps): void {
  const clientFor = (req: SandboxRequest) => sandboxdOf(deps, req, 'use POST /exec');

  /** Streams a process's output as SSE until it exits; `killOnDetach` cancels it when the client leaves. */
  async function stream(
    reply: FastifyReply,
    requestId: string,
    client: SandboxdClient,
    processId: string,
    fromOffset: number,
    killOnDetach: boolean,
  ) {
    const attachment = await callProcess(() => client.attach(processId, { fromOffset, killOnDetach }));
    let start: ReturnType<typeof attachStartFromDaemon>;
    try {
      start = attachStartFromDaemon(attachment); // before the 200: a 502 can still be answered
    } catch (err) {
      attachment.close();
      throw err;
    }
    void reply.hijack();
    const sse = new SseStream(reply.raw, { requestId, headers: { 'x-process-id': processId } });
    sse.send('start', { processId, ...start });
    // An event out of shape ends the stream with an error event (its status was already sent).
    const refused = (err: unknown) => {
      const e = err instanceof PlatformError ? err : new PlatformError('INTERNAL', String(err));
      sse.send('error', { code: e.code, message: e.message });
    };
    sse.onClose(() => attachment.close());
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    for await (const ev of attachment) {
      if (ev.type === 'output') {
        const sent = sse.send(
          ev.stream,
          { data: decoders[ev.stream].decode(ev.data, { stream: true }), offset: ev.offset },
          ev.offset + ev.data.length,
        );
        // Not reading on while the client is behind pauses the daemon's socket (bounded queue).
        if (!sent) await sse.drained();
        if (!sse.isOpen) break;
      } else if (ev.type === 'exit') {
        try {
          sse.send('exit', exitFromDaemon(ev));
        } catch (err) {
          refused(err);
        }
        break;
      } else if (ev.type === 'error') {
        // The first error ends the stream. The router sends nothing on this channel, so an honest
        // daemon has nothing to report on it, and a hostile one's endless errors would otherwise be
        // queued for a client that does not read (only output waits for the client to drain).
        try {
          sse.send('error', attachErrorFromDaemon(ev));
        } catch (err) {
          refused(err);
        }
        break;
      }
    }
    attachment.close();
    sse.end();
  }

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/exec/stream', async (req, reply) => {
    const body = parseOrThrow(execRequestSchema, req.body ?? {}, 'exec request');
    const { client } = await clientFor(req);
    const proc = await callSandboxd(() =>
      client.startProcess({
        command: body.command,
        timeoutMs: (body.timeout ?? MAX_EXEC_TIMEOUT_SECONDS) * 1000,
        killOnDetach: true,
        openStdin: false,
        ...(body.env ? { env: body.env } : {}),
        ...(body.cwd ? { cwd: body.cwd } : {}),
        ...(body.stdin !== undefined ? { stdin: body.stdin } : {}),
      }),
    );
    // The id goes into a header and the start event: parsed like every other process answer.
    const { id } = processFromDaemon(proc);
    await stream(reply, String(req.id), client, id, 0, true);
  });

  app.post<SandboxRoute>('/api/v1/sandboxes/:id/processes', async (req, reply) => {
    const body = parseOrThrow(startProcessRequestSchema, req.body ?? {}, 'process');
    const { client } = await clientFor(req);
    const info = await callSandboxd(() =>
      client.startProcess({
        command: body.command,
        killOnDetach: false,
        ...(body.timeout ? { timeoutMs: body.timeout * 1000 } : {}),
        ...(body.name ? { name: body.name } : {}),
        ...(body.env ? { env: body.env } : {}),
        ...(body.cwd ? { cwd: body.cwd } : {}),
        ...(body.stdin !== undefined ? { stdin: body.stdin } : {}),
      }),
    );
    reply.code(201);
    return processFromDaemon(info);
  });

  app.get<SandboxRoute>('/api/v1/sandboxes/:id/processes', async (req) => {
    const { client } = await clientFor(req);
    return { processes: processListFromDaemon(await callSandboxd(() => client.listProcesses())) };
  });

  app.get<ProcessRoute>('/api/v1/sandboxes/:id/processes/:pid', async (req) => {
    const { client } = await clientFor(req);
    return processFromDaemon(await callProcess(() => client.getProcess(req.params.pid)));
  });

  app.get<ProcessRoute<'fromOffset'>>('/api/v1/sandboxes/:id/processes/:pid/output', async (req, reply) => {
    const { client } = await clientFor(req);
    const header = req.headers['last-event-id'];
    const from = Number((typeof header === 'string' ? header : undefined) ?? req.query.fromOffset ?? 0);
    if (!Number.isInteger(from) || from < 0)
      throw new PlatformError('BAD_REQUEST', 'fromOffset / Last-Event-ID must be a non-negative integer');
    await stream(reply, String(req.id), client, req.params.pid, from, false);
  });

  app.post<ProcessRoute>('/api/v1/sandboxes/:id/processes/:pid/signal', async (req) => {
    const { signal } = parseOrThrow(signalRequestSchema, req.body ?? {}, 'signal request');
    const { client } = await clientFor(req);
    const name = signal.startsWith('SIG') ? signal : `SIG${signal}`;
    return processFromDaemon(await callProcess(() => client.signalProcess(req.params.pid, name)));
  });

  app.delete<ProcessRoute>('/api/v1/sandboxes/:id/processes/:pid', async (req) => {
    const { client } = await clientFor(req);
    return processFromDaemon(await callProcess(() => client.killProcess(req.params.pid)));
  });
}
