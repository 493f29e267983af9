/**
 * Server-sent events, parsed the way the AgentTier clients agree on (reference §10 item 10, which is
 * the WHATWG `text/event-stream` algorithm): lines end in CRLF, LF or CR; `:` lines are comments
 * (keepalives); `data:` lines accumulate joined by `\n`; a blank line dispatches; an event with no
 * data is dropped; a half-received event at end of stream is dropped.
 */

export interface SSEEvent {
  /** The `event:` field, or `message` when absent. */
  event: string;
  /** The `data:` lines joined with `\n` (usually compact JSON). */
  data: string;
  /** The last `id:` seen on the stream, if any. */
  id?: string;
  /** A `retry:` reconnection time in milliseconds, if the server sent one. */
  retry?: number;
}

/**
 * An incremental parser: feed it text in arbitrary chunks, get whole events back. Chunks may split
 * anywhere, including between the CR and LF of a CRLF.
 *
 * @example
 * ```ts
 * const parser = new SSEParser();
 * parser.push('event: exit\ndata: {"exitCode"'); // → []
 * parser.push(':0}\n\n'); // → [{ event: 'exit', data: '{"exitCode":0}' }]
 * ```
 */
export class SSEParser {
  private buffer = '';
  /** The previous chunk ended in CR, so a leading LF in the next chunk belongs to that line end. */
  private pendingCR = false;
  private eventName = '';
  private dataLines: string[] = [];
  private hasData = false;
  private lastId: string | undefined;
  private retry: number | undefined;

  /** Feeds decoded text; returns the events completed by it. */
  push(chunk: string): SSEEvent[] {
    let text = chunk;
    if (this.pendingCR) {
      if (text.startsWith('\n')) text = text.slice(1);
      this.pendingCR = false;
    }
    this.buffer += text;
    const events: SSEEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (ch === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /**
   * Ends the stream. Per the spec an unterminated final event is discarded, so this returns nothing
   * today; it exists so callers do not depend on that detail.
   */
  end(): SSEEvent[] {
    this.buffer = '';
    this.pendingCR = false;
    this.reset();
    return [];
  }

  private reset(): void {
    this.eventName = '';
    this.dataLines = [];
    this.hasData = false;
  }

  private line(line: string): SSEEvent | undefined {
    if (line === '') {
      if (!this.hasData) {
        this.reset();
        return undefined;
      }
      const event: SSEEvent = { event: this.eventName || 'message', data: this.dataLines.join('\n') };
      if (this.lastId !== undefined) event.id = this.lastId;
      if (this.retry !== undefined) event.retry = this.retry;
      this.reset();
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventName = value;
        break;
      case 'data':
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }
}

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
