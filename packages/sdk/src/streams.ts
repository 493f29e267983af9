import { ConnectionError, errorFromResponse } from './errors.ts';
import type { SSEEvent } from './sse.ts';
import { eventPayload } from './sse.ts';
import type { ExecStreamEvent } from './types.ts';
import { sleep } from './wait.ts';

/** How a re-attachable stream (process output, invoke replay) reconnects after the connection drops. */
export interface ResumeOpts {
  /** Reconnect attempts in a row before giving up with the ConnectionError. @default 3 */
  maxRetries?: number;
  /** Delay before the first retry; doubles each time. @default 250 */
  retryDelayMs?: number;
}

/**
 * Follows an SSE stream that can be re-opened from its last event id (`Last-Event-ID`): when the
 * connection breaks, or the stream ends before `isLast` saw the final event, it re-opens from the last
 * id seen, so the consumer gets every event once. HTTP errors (404, …) are not retried.
 */
export async function* resumableEvents(
  open: (lastEventId: string | undefined) => Promise<AsyncGenerator<SSEEvent, void, undefined>>,
  isLast: (event: SSEEvent) => boolean,
  opts: ResumeOpts & { lastEventId?: string | undefined; signal?: AbortSignal | undefined; what: string },
): AsyncGenerator<SSEEvent, void, undefined> {
  const maxRetries = opts.maxRetries ?? 3;
  const baseDelay = opts.retryDelayMs ?? 250;
  let lastId = opts.lastEventId;
  let failures = 0;
  for (;;) {
    let lost: unknown;
    try {
      const events = await open(lastId);
      for await (const ev of events) {
        if (ev.id !== undefined && ev.id !== lastId) {
          lastId = ev.id;
          failures = 0; // progress: a later drop starts a fresh series of retries
        }
        yield ev;
        if (isLast(ev)) return;
      }
      lost = new ConnectionError(`${opts.what} ended before its final event`, {
        code: 'CONNECTION_FAILED',
        hint: 'The connection dropped or the server restarted; re-attach to continue',
      });
    } catch (err) {
      if (opts.signal?.aborted || !(err instanceof ConnectionError)) throw err;
      lost = err;
    }
    failures++;
    if (failures > maxRetries) throw lost;
    await sleep(baseDelay * 2 ** (failures - 1), opts.signal);
  }
}

/** Throws the typed error an SSE `error` event describes. */
export function streamError(data: Record<string, unknown>, fallback: string): never {
  throw errorFromResponse({
    status: typeof data.status === 'number' ? data.status : 500,
    body: { error: data.message ?? data.error ?? fallback, ...data },
  });
}

/**
 * Turns the SSE events of `exec/stream` and `processes/{id}/output` into ExecStreamEvents: `start`,
 * `stdout`/`stderr` with their byte `offset`, `exit`. Returns undefined for events to skip.
 */
export function execEvent(ev: SSEEvent, fallbackError: string): ExecStreamEvent | undefined {
  const data = eventPayload(ev);
  switch (ev.event) {
    case 'start':
      return { ...data, type: 'start' };
    case 'stdout':
    case 'stderr': {
      const out: Extract<ExecStreamEvent, { type: 'stdout' | 'stderr' }> = {
        type: ev.event,
        data: String(data.data ?? ''),
      };
      if (typeof data.offset === 'number') {
        out.offset = data.offset;
        // Output events carry their end as the SSE id.
        if (ev.id !== undefined && /^\d+$/.test(ev.id)) out.nextOffset = Number(ev.id);
      }
      return out;
    }
    case 'log': {
      // Seed-style `{stream, data}` line events.
      const stream = data.stream === 'stderr' ? 'stderr' : 'stdout';
      return { type: stream, data: `${String(data.data ?? '')}\n` };
    }
    case 'exit': {
      const exit: ExecStreamEvent = { type: 'exit', exitCode: Number(data.exitCode ?? -1) };
      if (data.signal !== undefined) exit.signal = data.signal as string | null;
      if (typeof data.timedOut === 'boolean') exit.timedOut = data.timedOut;
      if (typeof data.durationMs === 'number') exit.durationMs = data.durationMs;
      return exit;
    }
    case 'error':
      return streamError(data, fallbackError);
    default:
      return undefined; // unknown events are ignored so servers can add new ones
  }
}
