import type { TerminalCloseReason } from '@agenttier/contract';
import type { CallOpts } from './types.ts';
import { sleep } from './wait.ts';
import type { CloseInfo, WebSocketChannel } from './websocket.ts';
import { isFinalError } from './websocket.ts';

/** Why a terminal ended: a reason of the server's `close` frame, or one of the SDK's own. */
export type TerminalEndReason =
  | Exclude<TerminalCloseReason, 'error'>
  /** `close()` was called (or the signal aborted): the shell keeps running for the next attach. */
  | 'detached'
  /** The connection dropped and reconnecting failed (or was off); `error` says why. */
  | 'connection_lost'
  | (string & NonNullable<unknown>);

export interface TerminalEnd {
  reason: TerminalEndReason;
  message?: string;
  /** The shell's exit code when `reason` is `session_ended`. */
  exitCode?: number | null;
  signal?: string | null;
  /** For `connection_lost`: the last connection error. */
  error?: unknown;
}

export interface ReconnectOpts {
  /** Attempts in a row before giving up. @default 10 */
  maxAttempts?: number;
  /** Delay before the first attempt; doubles up to `maxDelayMs`. @default 250 */
  initialDelayMs?: number;
  /** @default 5000 */
  maxDelayMs?: number;
}

export interface TerminalOpts extends CallOpts {
  /**
   * The session to attach to (created when new). The shell outlives the connection: attaching again
   * with the same name continues it and replays its recent output. @default 'main'
   */
  session?: string;
  /** Initial size; also applied to an existing session on attach. @default 120×40 */
  cols?: number;
  rows?: number;
  /** Shell to start a new session with (absolute path), for servers that accept `?shell=`. */
  shell?: string;
  /**
   * Reconnect (to the same session) when the connection drops without the server ending the session.
   * Output the server replays on re-attach that was already delivered is not delivered again.
   * @default true (10 attempts, 250 ms doubling up to 5 s)
   */
  reconnect?: boolean | ReconnectOpts;
  /** How often to send `ping` frames. @default 30000 */
  pingIntervalMs?: number;
  /** Treat the connection as dropped after this long without any frame from the server. @default 90000 */
  idleTimeoutMs?: number;
}

export interface TerminalEvents {
  /** Screen output (UTF-8 text with escape sequences), in order. */
  output: string;
  /** An `error` frame from the server; the session goes on. */
  error: string;
  /** The connection dropped; the next attempt starts after `delayMs`. */
  reconnecting: { attempt: number; maxAttempts: number; delayMs: number; error?: unknown };
  /** Re-attached to the same session. */
  reconnected: { attempt: number };
  /** The terminal is over (also available as the `ended` promise). */
  end: TerminalEnd;
}

type Listener<T> = (value: T) => void;

/** sandboxd replays at most 256 KiB on attach; keeping as many characters covers any overlap. */
const REPLAY_WINDOW = 256 * 1024;
const MAX_QUEUED_INPUT = 64 * 1024;

/**
 * The length of the longest prefix of `replay` that is a suffix of `seen`: how much of a replayed
 * screen buffer was already delivered. (Knuth–Morris–Pratt over the last `replay.length` characters.)
 */
export function replayOverlap(seen: string, replay: string): number {
  const m = replay.length;
  if (m === 0 || seen.length === 0) return 0;
  const text = seen.length > m ? seen.slice(seen.length - m) : seen;
  const fail = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && replay[i] !== replay[k]) k = fail[k - 1] ?? 0;
    if (replay[i] === replay[k]) k++;
    fail[i] = k;
  }
  let q = 0;
  for (let i = 0; i < text.length; i++) {
    while (q > 0 && (q === m || text[i] !== replay[q])) q = fail[q - 1] ?? 0;
    if (text[i] === replay[q]) q++;
  }
  return q;
}

/** A server frame of reference §4.6, loosely typed. */
interface ServerFrame {
  type?: unknown;
  data?: unknown;
  message?: unknown;
  reason?: unknown;
  exitCode?: unknown;
  signal?: unknown;
}

/**
 * A terminal session in a sandbox over a WebSocket (`sandbox.terminal()`): send keystrokes, resize,
 * listen for output. The shell lives in the sandbox, not in the connection: `close()` detaches and
 * leaves it running; a dropped connection is re-established automatically.
 *
 * @example
 * ```ts
 * const term = await sandbox.terminal({ session: 'main', cols: 100, rows: 30 });
 * term.on('output', (text) => process.stdout.write(text));
 * term.write('ls -la\r');
 * const end = await term.ended; // { reason: 'session_ended', exitCode: 0 } after `exit`
 * ```
 */
export class TerminalConnection {
  /** Resolves once when the terminal is over; never rejects. */
  readonly ended: Promise<TerminalEnd>;
  private resolveEnded!: (end: TerminalEnd) => void;
  private channel: WebSocketChannel | undefined;
  private listeners = new Map<keyof TerminalEvents, Set<Listener<never>>>();
  private endInfo: TerminalEnd | undefined;
  private closeFrame: TerminalEnd | undefined;
  private seen = '';
  /** Output that arrived before anyone listened (the replay can come with the upgrade itself). */
  private unheard: string[] = [];
  private trimNextOutput = false;
  private queued: string[] = [];
  private queuedChars = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private cols: number;
  private rows: number;
  private readonly reconnect: Required<ReconnectOpts> | undefined;
  private readonly onAbort = (): void => this.close();

  /** @internal */
  constructor(
    readonly session: string,
    private readonly connect: (size: { cols: number; rows: number }) => Promise<WebSocketChannel>,
    private readonly opts: TerminalOpts,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.cols = opts.cols ?? 120;
    this.rows = opts.rows ?? 40;
    const r = opts.reconnect ?? true;
    this.reconnect =
      r === false
        ? undefined
        : {
            maxAttempts: 10,
            initialDelayMs: 250,
            maxDelayMs: 5000,
            ...(r === true ? {} : r),
          };
  }

  /** @internal Opens the first connection; throws the typed error when it cannot. */
  async start(): Promise<this> {
    this.attach(await this.connect({ cols: this.cols, rows: this.rows }));
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    return this;
  }

  /** True while a connection is up (false while reconnecting and after the end). */
  get connected(): boolean {
    return this.channel?.isOpen === true;
  }

  /** The size last set. */
  get size(): { cols: number; rows: number } {
    return { cols: this.cols, rows: this.rows };
  }

  /**
   * Subscribes to an event; returns the unsubscribe function. Output that arrived before the first
   * `output` listener is handed to it, so nothing is lost between `terminal()` and `on()`.
   * @example
   * ```ts
   * const off = term.on('output', (text) => process.stdout.write(text));
   * ```
   */
  on<K extends keyof TerminalEvents>(event: K, listener: Listener<TerminalEvents[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    if (event === 'output' && this.unheard.length > 0) {
      const early = this.unheard.join('');
      this.unheard = [];
      queueMicrotask(() => this.emit('output', early));
    }
    return () => set.delete(listener as Listener<never>);
  }

  private emit<K extends keyof TerminalEvents>(event: K, value: TerminalEvents[K]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as Listener<TerminalEvents[K]>)(value);
  }

  /**
   * Sends keystrokes (an `input` frame). While reconnecting, up to 64 KiB is queued and sent after.
   * @example
   * ```ts
   * term.write('echo hello\r');
   * ```
   */
  write(data: string): void {
    if (this.endInfo || data === '') return;
    if (this.channel?.isOpen) {
      this.channel.send(JSON.stringify({ type: 'input', data }));
    } else if (this.queuedChars + data.length <= MAX_QUEUED_INPUT) {
      this.queued.push(data);
      this.queuedChars += data.length;
    }
  }

  /**
   * Changes the terminal size (a `resize` frame); kept for reconnects.
   * @example
   * ```ts
   * process.stdout.on('resize', () => term.resize(process.stdout.columns, process.stdout.rows));
   * ```
   */
  resize(cols: number, rows: number): void {
    if (!(cols > 0 && rows > 0)) return;
    this.cols = Math.floor(cols);
    this.rows = Math.floor(rows);
    if (this.channel?.isOpen) {
      this.channel.send(JSON.stringify({ type: 'resize', cols: this.cols, rows: this.rows }));
    }
  }

  /**
   * Detaches: closes the connection and ends with reason `detached`. The shell keeps running; attach
   * again with the same `session` to continue.
   */
  close(): void {
    this.finish({ reason: 'detached' });
  }

  private finish(end: TerminalEnd): void {
    if (this.endInfo) return;
    this.endInfo = end;
    this.stopTimers();
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.channel?.close(1000, end.reason === 'detached' ? 'detached' : '');
    this.emit('end', end);
    this.resolveEnded(end);
  }

  private stopTimers(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.idleTimer);
    this.pingTimer = undefined;
    this.idleTimer = undefined;
  }

  private touch(channel: WebSocketChannel): void {
    clearTimeout(this.idleTimer);
    const idleMs = this.opts.idleTimeoutMs ?? 90_000;
    this.idleTimer = setTimeout(() => {
      // Nothing heard for too long: the connection is dead even if no close arrived.
      this.dropped(channel, `no frames from the server for ${Math.round(idleMs / 1000)}s`);
    }, idleMs);
  }

  private attach(channel: WebSocketChannel): void {
    this.channel = channel;
    this.closeFrame = undefined;
    this.touch(channel);
    this.pingTimer = setInterval(
      () => channel.send(JSON.stringify({ type: 'ping' })),
      this.opts.pingIntervalMs ?? 30_000,
    );
    channel.onMessage((raw) => this.onFrame(channel, raw));
    channel.onClose((info: CloseInfo) =>
      this.dropped(channel, `connection closed (code ${info.code}${info.reason ? `, ${info.reason}` : ''})`),
    );
    if (this.queued.length > 0) {
      const pending = this.queued.join('');
      this.queued = [];
      this.queuedChars = 0;
      this.write(pending);
    }
  }

  private onFrame(channel: WebSocketChannel, raw: string | Uint8Array): void {
    if (channel !== this.channel) return;
    this.touch(channel);
    if (typeof raw !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(raw) as ServerFrame;
    } catch {
      return; // not a frame of the protocol
    }
    switch (frame.type) {
      case 'output': {
        let data = typeof frame.data === 'string' ? frame.data : '';
        if (this.trimNextOutput) {
          // The first output after a re-attach is the session's replay buffer: skip what was shown.
          this.trimNextOutput = false;
          data = data.slice(replayOverlap(this.seen, data));
        }
        if (data === '') return;
        this.seen = (this.seen + data).slice(-REPLAY_WINDOW);
        if (this.listeners.get('output')?.size) this.emit('output', data);
        else {
          this.unheard.push(data);
          if (this.unheard.length > 64) this.unheard = [this.unheard.join('').slice(-REPLAY_WINDOW)];
        }
        return;
      }
      case 'error':
        this.emit('error', String(frame.message ?? 'terminal error'));
        return;
      case 'close': {
        const end: TerminalEnd = { reason: String(frame.reason ?? 'session_ended') };
        if (typeof frame.message === 'string') end.message = frame.message;
        if (frame.exitCode !== undefined) end.exitCode = frame.exitCode as number | null;
        if (frame.signal !== undefined) end.signal = frame.signal as string | null;
        this.closeFrame = end;
        return;
      }
      default:
        return; // heartbeat, pong
    }
  }

  /** The connection ended (closed, or found dead): finish with the close frame, or reconnect. */
  private dropped(channel: WebSocketChannel, why: string): void {
    if (channel !== this.channel) return;
    this.channel = undefined;
    this.stopTimers();
    channel.close(4000, 'dropped');
    if (this.endInfo) return;
    if (this.closeFrame) {
      this.finish(this.closeFrame);
      return;
    }
    if (!this.reconnect) {
      this.finish({ reason: 'connection_lost', message: why });
      return;
    }
    void this.reconnectLoop(why);
  }

  private async reconnectLoop(dropped: string): Promise<void> {
    const { maxAttempts, initialDelayMs, maxDelayMs } = this.reconnect as Required<ReconnectOpts>;
    let lastError: unknown = new Error(dropped);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.endInfo) return;
      const delayMs = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
      this.emit('reconnecting', {
        attempt,
        maxAttempts,
        delayMs,
        ...(attempt > 1 ? { error: lastError } : {}),
      });
      try {
        await sleep(delayMs, this.opts.signal);
      } catch {
        return; // aborted: close() already ran
      }
      if (this.endInfo) return;
      try {
        const channel = await this.connect({ cols: this.cols, rows: this.rows });
        if (this.endInfo) {
          channel.close();
          return;
        }
        this.trimNextOutput = this.seen.length > 0;
        this.attach(channel);
        this.emit('reconnected', { attempt });
        return;
      } catch (err) {
        lastError = err;
        if (isFinalError(err)) break;
      }
    }
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    this.finish({ reason: 'connection_lost', message, error: lastError });
  }
}
