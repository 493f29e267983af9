import type { ServerResponse } from 'node:http';

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

  send(event: string, data: unknown, id?: number): void {
    if (!this.isOpen) return;
    const json = typeof data === 'string' ? data : JSON.stringify(data);
    this.res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${json}\n\n`);
  }

  comment(text: string): void {
    if (this.isOpen) this.res.write(`: ${text}\n\n`);
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
