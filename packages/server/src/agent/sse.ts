import type { ServerResponse } from 'node:http';
import { formatSSE, formatSSEComment } from '@agenttier/contract/sse';

/** How often a comment keeps proxies (nginx closes idle streams after 30 s) from dropping the stream. */
export const KEEPALIVE_MS = 15_000;

/**
 * A Server-Sent Events stream on a raw response: `event:`/`data:` records flushed at once, optional ids
 * for Last-Event-ID replay, and a keepalive comment while nothing else is written.
 */
export class SseStream {
  private keepalive: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    opts: { requestId: string; keepaliveMs?: number; headers?: Record<string, string> },
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': opts.requestId,
      ...opts.headers,
    });
    res.flushHeaders();
    this.keepalive = setInterval(() => this.comment('keepalive'), opts.keepaliveMs ?? KEEPALIVE_MS);
    this.keepalive.unref();
    res.on('close', () => this.stop());
  }

  /** Called once when the client goes away (or the stream ends). */
  onClose(fn: () => void): void {
    if (!this.isOpen) fn();
    else this.res.once('close', fn);
  }

  get isOpen(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  /** Writes one record; false when the client is behind (await {@link drained} before the next). */
  send(event: string, data: unknown, id?: number): boolean {
    if (!this.isOpen) return true;
    return this.res.write(formatSSE(event, data, id));
  }

  /** Bytes written but not yet taken by the client. */
  get bufferedBytes(): number {
    return this.res.writableLength;
  }

  /**
   * Resolves once the client has taken what was written (or left). Relays await it whenever `send`
   * returns false, so a slow reader slows the sandbox down instead of growing the router's memory.
   */
  drained(): Promise<void> {
    if (!this.isOpen || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  comment(text: string): void {
    if (this.isOpen) this.res.write(formatSSEComment(text));
  }

  /** Drops the connection without flushing (a client too far behind to wait for). */
  abort(): void {
    this.stop();
    this.res.destroy();
  }

  end(): void {
    this.stop();
    if (!this.res.writableEnded) this.res.end();
  }

  private stop(): void {
    this.closed = true;
    clearInterval(this.keepalive);
  }
}
