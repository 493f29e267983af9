/**
 * Server-sent events, the one encoding and the one parser of every AgentTier stream (router → clients,
 * sandboxd → router). Parsed the way the AgentTier clients agree on (reference §10 item 10, which is
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
 *
 * Input may be hostile (a sandboxd stream is written by code in the sandbox): `maxEventChars` bounds
 * what one event may hold (its data so far plus an unterminated line) before `push` throws.
 */
export class SSEParser {
  private buffer = '';
  /** The previous chunk ended in CR, so a leading LF in the next chunk belongs to that line end. */
  private pendingCR = false;
  private eventName = '';
  private dataLines: string[] = [];
  private hasData = false;
  /** Characters in `dataLines`. */
  private dataChars = 0;
  private lastId: string | undefined;
  private retry: number | undefined;

  constructor(private readonly opts: { maxEventChars?: number } = {}) {}

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
    const max = this.opts.maxEventChars;
    if (max !== undefined && this.buffer.length + this.dataChars > max) {
      throw new Error(`an event-stream event over ${max} characters`);
    }
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
    this.dataChars = 0;
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
        this.dataChars += value.length + 1;
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
 * One event as written on the wire: optional `id:`, `event:`, then the data as `data:` lines (a line
 * break in text data starts a new `data:` line, so the parser gives back the same text), and the blank
 * line that dispatches it. JSON data is written compact (one line).
 */
export function formatSSE(event: string, data: unknown, id?: number | string): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  const lines = text.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`);
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\n${lines.join('')}\n`;
}

/** A comment line (keepalives): parsers skip it. */
export function formatSSEComment(text: string): string {
  return `: ${text.replace(/[\r\n]/g, ' ')}\n\n`;
}
