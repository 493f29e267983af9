import { SSEParser } from '@agenttier/contract/sse';
import type { SSEEvent } from '@agenttier/contract/sse';

export { SSEParser };
export type { SSEEvent };

/**
 * Reads a `text/event-stream` body and yields events as they complete. Stops (and cancels the
 * body) when `signal` aborts or the consumer breaks out of the loop.
 *
 * @example
 * ```ts
 * for await (const ev of readSSE(response.body!, { signal })) {
 *   if (ev.event === 'exit') break;
 * }
 * ```
 */
export async function* readSSE(
  body: ReadableStream<Uint8Array>,
  opts: { signal?: AbortSignal } = {},
): AsyncGenerator<SSEEvent, void, undefined> {
  // The cast: DOM's lib types TextDecoderStream's input as BufferSource, Node's as Uint8Array (the
  // browser build of the web UI type-checks this file with the DOM lib).
  const decoder = new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>;
  const reader = body.pipeThrough(decoder).getReader();
  const parser = new SSEParser();
  const onAbort = (): void => {
    reader.cancel(opts.signal?.reason).catch(() => {});
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    opts.signal?.throwIfAborted();
    for (;;) {
      const { value, done } = await reader.read();
      opts.signal?.throwIfAborted();
      if (done) {
        yield* parser.end();
        return;
      }
      yield* parser.push(value);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * The payload of an event: parsed JSON when it is JSON, else `{ data }` with the raw text (the same
 * fallback the seed product's web UI uses).
 */
export function eventPayload(event: SSEEvent): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(event.data);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
    return { data: parsed };
  } catch {
    return { data: event.data };
  }
}
