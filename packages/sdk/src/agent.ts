import { ConfigureError, ConnectionError } from './errors.ts';
import type { HttpClient, Query } from './http.ts';
import { encodePath } from './http.ts';
import type { SSEEvent } from './sse.ts';
import { eventPayload } from './sse.ts';
import { resumableEvents, streamError } from './streams.ts';
import type {
  AttachOpts,
  CallOpts,
  ConfigureFile,
  ConfigureOpts,
  ConfigureResult,
  InvokeEvent,
  InvokeOpts,
  InvokeResult,
} from './types.ts';
import type { AgentConfigView, InvokeRecord } from '@agenttier/contract';

/** How long the explicit cancel after an abandoned invoke may take. */
const CANCEL_TIMEOUT_MS = 5_000;

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fileBody(f: ConfigureFile): Record<string, unknown> {
  const out: Record<string, unknown> = { path: f.path };
  if (f.content !== undefined && f.contentBase64 !== undefined) {
    throw new TypeError(`configure file ${f.path}: give content or contentBase64, not both`);
  }
  if (typeof f.content === 'string') out.content = f.content;
  else if (f.content instanceof Uint8Array) out.contentBase64 = base64(f.content);
  else if (f.contentBase64 !== undefined) out.contentBase64 = f.contentBase64;
  else throw new TypeError(`configure file ${f.path}: content or contentBase64 is required`);
  if (f.mode !== undefined) out.mode = f.mode;
  return out;
}

/** Maps one SSE event of an invoke stream; undefined for events to skip. Throws on `error`. */
function invokeEvent(ev: SSEEvent): InvokeEvent | undefined {
  const data = eventPayload(ev);
  const id = ev.id !== undefined && /^\d+$/.test(ev.id) ? { eventId: Number(ev.id) } : {};
  switch (ev.event) {
    case 'start':
      return {
        type: 'start',
        invokeId: String(data.invokeId ?? ''),
        startedAt: Number(data.startedAt ?? 0),
        ...id,
      };
    case 'log':
      return {
        type: 'log',
        stream: data.stream === 'stderr' ? 'stderr' : 'stdout',
        data: String(data.data ?? ''),
        ...id,
      };
    case 'exit':
      return {
        type: 'exit',
        invokeId: String(data.invokeId ?? ''),
        exitCode: typeof data.exitCode === 'number' ? data.exitCode : -1,
        durationMs: typeof data.durationMs === 'number' ? data.durationMs : 0,
        reason: typeof data.reason === 'string' ? data.reason : 'completed',
        ...id,
      };
    case 'error':
      return streamError(data, 'invoke failed');
    default:
      return undefined;
  }
}

/**
 * Agent mode of one sandbox (`sandbox.agent`): configure it once (files, install, entrypoint), then
 * invoke the entrypoint any number of times with its output streamed back. Every invoke is recorded
 * and can be re-attached to, also after it finished.
 */
export class SandboxAgent {
  /** @internal */
  constructor(
    private readonly http: HttpClient,
    private readonly basePath: string,
    private readonly query: () => Query,
  ) {}

  /**
   * Uploads files, runs the install command (skipped when the files and install command are
   * unchanged) and sets the entrypoint. Streams progress to `onLog`. A non-zero install exit is
   * returned in `installExitCode`; a failure of a step (e.g. the install timed out) throws
   * ConfigureError with its `phase`.
   * @example
   * ```ts
   * const result = await sandbox.agent.configure({
   *   files: [{ path: '/workspace/agent.py', content: source }],
   *   installCommand: ['pip', 'install', '-r', '/workspace/requirements.txt'],
   *   entrypoint: ['python3', '/workspace/agent.py'],
   *   onLog: (line) => console.log(line.data),
   * });
   * if (result.installExitCode !== 0) throw new Error('install failed');
   * ```
   */
  async configure(opts: ConfigureOpts): Promise<ConfigureResult> {
    const body = {
      ...(opts.files ? { files: opts.files.map(fileBody) } : {}),
      ...(opts.installCommand ? { installCommand: opts.installCommand } : {}),
      ...(opts.entrypoint ? { entrypoint: opts.entrypoint } : {}),
      ...(opts.installTimeout ? { installTimeout: opts.installTimeout } : {}),
      ...(opts.maxConcurrentInvokes !== undefined ? { maxConcurrentInvokes: opts.maxConcurrentInvokes } : {}),
      ...(opts.defaultInvokeTimeout ? { defaultInvokeTimeout: opts.defaultInvokeTimeout } : {}),
    };
    for await (const ev of this.http.events({
      method: 'POST',
      path: `${this.basePath}/configure`,
      query: this.query(),
      json: body,
      signal: opts.signal,
    })) {
      const data = eventPayload(ev);
      if (ev.event === 'log') {
        opts.onLog?.({
          stream: data.stream === 'stderr' ? 'stderr' : 'stdout',
          data: String(data.data ?? ''),
        });
      } else if (ev.event === 'result') {
        return {
          ...data,
          lastConfiguredAt: String(data.lastConfiguredAt ?? ''),
          installCommandHash: String(data.installCommandHash ?? ''),
          installExitCode: typeof data.installExitCode === 'number' ? data.installExitCode : 0,
          skipped: data.skipped === true,
        } as ConfigureResult;
      } else if (ev.event === 'error') {
        const phase = typeof data.phase === 'string' ? data.phase : 'configure';
        const message = String(data.message ?? data.error ?? 'configure failed');
        throw new ConfigureError(`configure failed during ${phase}: ${message}`, {
          code: 'CONFIGURE_FAILED',
          phase,
          serverMessage: message,
          body: data,
          hint:
            phase === 'install'
              ? 'See the install output above (or installLog()); raise installTimeout if it ran out of time'
              : undefined,
        });
      }
    }
    throw new ConnectionError('configure stream ended without a result event', {
      code: 'CONNECTION_FAILED',
      hint: 'The connection dropped or the server stopped; configure again (it is idempotent)',
    });
  }

  /**
   * The last 8 KiB of the most recent install's output. NotFoundError before the first install.
   * @example
   * ```ts
   * console.log(await sandbox.agent.installLog());
   * ```
   */
  async installLog(opts: CallOpts = {}): Promise<string> {
    const res = await this.http.json<{ log?: string }>({
      method: 'GET',
      path: `${this.basePath}/configure/install-log`,
      query: this.query(),
      signal: opts.signal,
    });
    return res?.log ?? '';
  }

  /**
   * What the last successful configure set: entrypoint, install argv, the files' paths (not their
   * contents) and the names of the agent's environment variables (never values).
   * @example
   * ```ts
   * const cfg = await sandbox.agent.config();
   * if (cfg.configured) console.log(cfg.entrypoint.join(' '));
   * ```
   */
  async config(opts: CallOpts = {}): Promise<AgentConfigView> {
    return this.http.json<AgentConfigView>({
      method: 'GET',
      path: `${this.basePath}/agent/config`,
      query: this.query(),
      signal: opts.signal,
    });
  }

  private invokeRequest(opts: InvokeOpts, detach: boolean) {
    return {
      method: 'POST' as const,
      path: `${this.basePath}/invoke`,
      query: {
        ...this.query(),
        prompt: opts.prompt,
        timeout: opts.timeout,
        ...(detach ? { detach: 'true' } : {}),
      },
      body: opts.input ?? '',
      headers: { 'Content-Type': 'application/octet-stream' },
    };
  }

  /**
   * Invokes the entrypoint and yields its events as they happen: `start` (with the invoke id), one
   * `log` per output line, `exit` last. Aborting `signal` or leaving the loop early cancels the
   * process in the sandbox. 429 → ConcurrencyError (wait `retryAfterMs`), 424 → NotConfiguredError.
   * @example
   * ```ts
   * for await (const ev of sandbox.agent.invokeStream({ input: 'count 3' })) {
   *   if (ev.type === 'log') console.log(ev.stream, ev.data);
   *   if (ev.type === 'exit') console.log('exit', ev.exitCode, ev.reason);
   * }
   * ```
   */
  async *invokeStream(opts: InvokeOpts = {}): AsyncGenerator<InvokeEvent> {
    // Our own controller, so leaving the loop ends the request even when the caller gave no signal.
    const local = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, local.signal]) : local.signal;
    let invokeId: string | undefined;
    let exited = false;
    try {
      const { response, events } = await this.http.openEvents({ ...this.invokeRequest(opts, false), signal });
      invokeId = response.headers.get('x-invoke-id') ?? undefined;
      for await (const ev of events) {
        const out = invokeEvent(ev);
        if (!out) continue;
        if (out.type === 'start' && out.invokeId) invokeId = out.invokeId;
        if (out.type === 'exit') exited = true;
        yield out;
        if (exited) return;
      }
      throw new ConnectionError(
        `the invoke stream${invokeId ? ` of ${invokeId}` : ''} ended without an exit event`,
        {
          code: 'CONNECTION_FAILED',
          hint: invokeId
            ? `See how it ended with agent.getInvoke('${invokeId}')`
            : 'The connection dropped or the server stopped',
        },
      );
    } finally {
      if (!exited) {
        // Closing the connection cancels a non-detached run; say so explicitly too, in case a proxy
        // keeps the upstream connection open.
        local.abort();
        if (invokeId) {
          await this.cancel(invokeId, { signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS) }).catch(() => {});
        }
      }
    }
  }

  /**
   * Invokes the entrypoint and waits for it; returns the collected output. A non-zero exit code is a
   * result (check `exitCode` and `reason`), not an error.
   * @example
   * ```ts
   * const r = await sandbox.agent.invoke({ input: 'hello', timeout: '5m' });
   * console.log(r.exitCode, r.stdout);
   * ```
   */
  async invoke(opts: InvokeOpts = {}): Promise<InvokeResult> {
    let invokeId = '';
    let stdout = '';
    let stderr = '';
    for await (const ev of this.invokeStream(opts)) {
      if (ev.type === 'start') invokeId = ev.invokeId;
      else if (ev.type === 'log') {
        if (ev.stream === 'stderr') stderr += `${ev.data}\n`;
        else stdout += `${ev.data}\n`;
      } else {
        return {
          invokeId: ev.invokeId || invokeId,
          stdout,
          stderr,
          exitCode: ev.exitCode,
          durationMs: ev.durationMs,
          reason: ev.reason,
        };
      }
    }
    // invokeStream throws when the exit event is missing; this is unreachable.
    throw new ConnectionError('the invoke stream ended without an exit event', { code: 'CONNECTION_FAILED' });
  }

  /**
   * Starts an invoke that runs to its end without anyone watching, and returns its id at once.
   * Follow it with `attach(id)`, check it with `getInvoke(id)`, stop it with `cancel(id)`.
   * @example
   * ```ts
   * const id = await sandbox.agent.invokeDetached({ input: 'sleep 60' });
   * ```
   */
  async invokeDetached(opts: InvokeOpts = {}): Promise<string> {
    const local = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, local.signal]) : local.signal;
    const { response, events } = await this.http.openEvents({ ...this.invokeRequest(opts, true), signal });
    try {
      const header = response.headers.get('x-invoke-id');
      if (header) return header;
      for await (const ev of events) {
        const out = invokeEvent(ev);
        if (out?.type === 'start' && out.invokeId) return out.invokeId;
      }
      throw new ConnectionError('the detached invoke answered without an invoke id', {
        code: 'CONNECTION_FAILED',
      });
    } finally {
      local.abort(); // hanging up does not stop a detached run
      await events.return(undefined);
      await response.body?.cancel().catch(() => {});
    }
  }

  /**
   * Re-attaches to an invoke: replays its events (after `lastEventId`, if given), then follows it live
   * until `exit` — also for a finished one. Reconnects and resumes if the connection drops. Leaving
   * the loop does not cancel the run.
   * @example
   * ```ts
   * for await (const ev of sandbox.agent.attach(id)) {
   *   if (ev.type === 'log') console.log(ev.data);
   * }
   * ```
   */
  async *attach(invokeId: string, opts: AttachOpts = {}): AsyncGenerator<InvokeEvent> {
    const path = `${this.basePath}/invokes/${encodePath(invokeId)}/stream`;
    const events = resumableEvents(
      async (lastEventId) =>
        (
          await this.http.openEvents({
            method: 'GET',
            path,
            query: this.query(),
            ...(lastEventId !== undefined ? { headers: { 'Last-Event-ID': lastEventId } } : {}),
            signal: opts.signal,
          })
        ).events,
      (ev) => ev.event === 'exit',
      {
        what: `the event stream of invoke ${invokeId}`,
        signal: opts.signal,
        lastEventId: opts.lastEventId === undefined ? undefined : String(opts.lastEventId),
        ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
      },
    );
    for await (const ev of events) {
      const out = invokeEvent(ev);
      if (out) yield out;
    }
  }

  /**
   * Cancels a running invoke; its stream ends with `exit` reason `canceled`. NotFoundError when it is
   * unknown or already finished.
   * @example
   * ```ts
   * await sandbox.agent.cancel(invokeId);
   * ```
   */
  async cancel(invokeId: string, opts: CallOpts = {}): Promise<void> {
    await this.http.json({
      method: 'POST',
      path: `${this.basePath}/invoke/cancel`,
      query: this.query(),
      json: { invokeId },
      signal: opts.signal,
    });
  }

  /**
   * The sandbox's invoke records, newest first.
   * @example
   * ```ts
   * for (const r of await sandbox.agent.invokes()) console.log(r.invokeId, r.reason, r.exitCode);
   * ```
   */
  async invokes(opts: CallOpts & { limit?: number } = {}): Promise<InvokeRecord[]> {
    const res = await this.http.json<{ invokes?: InvokeRecord[] | null }>({
      method: 'GET',
      path: `${this.basePath}/invokes`,
      query: { ...this.query(), limit: opts.limit },
      signal: opts.signal,
    });
    return res?.invokes ?? [];
  }

  /**
   * One invoke record; NotFoundError when this sandbox has no such invoke.
   * @example
   * ```ts
   * const r = await sandbox.agent.getInvoke(invokeId);
   * if (r.state === 'finished') console.log(r.exitCode, r.outputTail);
   * ```
   */
  async getInvoke(invokeId: string, opts: CallOpts = {}): Promise<InvokeRecord> {
    return this.http.json<InvokeRecord>({
      method: 'GET',
      path: `${this.basePath}/invokes/${encodePath(invokeId)}`,
      query: this.query(),
      signal: opts.signal,
    });
  }
}
