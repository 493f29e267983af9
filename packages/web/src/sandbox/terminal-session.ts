/**
 * One named terminal session as the Terminal tab sees it: the SDK's TerminalConnection (which
 * re-attaches to the same shell by itself after a dropped connection and trims the replayed screen
 * to what was not shown yet) plus a status a person can read, and a manual reconnect once the
 * automatic one has given up. Framework-free so it is tested against a real WebSocket server.
 */
import type { TerminalConnection, TerminalEnd, TerminalOpts } from '@agenttier/sdk';
import { adviseError } from './error-advice.ts';

export type TerminalStatus =
  | { kind: 'connecting' }
  | { kind: 'connected'; reconnects: number }
  | { kind: 'reconnecting'; attempt: number; maxAttempts: number; lastError?: string }
  /** The shell or the connection is over; `canReconnect` says whether attaching again makes sense. */
  | { kind: 'ended'; end: TerminalEnd; text: string; canReconnect: boolean }
  /** The first attach failed (sandbox stopped, refused, unreachable). */
  | { kind: 'failed'; text: string; next: string };

/** Session names the server accepts (`?session=`). */
export const SESSION_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

export type OpenTerminal = (opts: TerminalOpts) => Promise<TerminalConnection>;

export interface TerminalSessionOpts {
  session: string;
  open: OpenTerminal;
  cols: number;
  rows: number;
  /** Passed to the SDK (tests shorten the back-off). */
  reconnect?: TerminalOpts['reconnect'];
}

type Listener<T> = (value: T) => void;

const END_TEXT: Record<string, string> = {
  session_ended: 'The shell exited.',
  session_killed: 'The session was ended in the sandbox.',
  sandbox_stopped: 'The sandbox stopped.',
  sandbox_deleted: 'The sandbox was deleted.',
  idle_timeout: 'The sandbox stopped after being idle.',
  session_expired: 'The session expired.',
  access_revoked: 'Your access to this sandbox was revoked.',
  detached: 'Detached; the shell keeps running in the sandbox.',
  connection_lost: 'The connection was lost and could not be re-established.',
};

/** Reasons after which attaching again can reach a shell (a new one, or the same one). */
const RECONNECTABLE = new Set([
  'session_ended',
  'session_killed',
  'session_expired',
  'detached',
  'connection_lost',
]);

export function describeEnd(end: TerminalEnd): string {
  const base = END_TEXT[end.reason] ?? `The terminal closed (${end.reason}).`;
  const code =
    end.reason === 'session_ended' && typeof end.exitCode === 'number' ? ` Exit code ${end.exitCode}.` : '';
  const why = end.reason === 'connection_lost' && end.message ? ` Last error: ${end.message}.` : '';
  return `${base}${code}${why}`;
}

export class TerminalSession {
  readonly name: string;
  private conn: TerminalConnection | undefined;
  private current: TerminalStatus = { kind: 'connecting' };
  private reconnects = 0;
  private cols: number;
  private rows: number;
  private disposed = false;
  private readonly outputListeners = new Set<Listener<string>>();
  /** Output that arrived while no view listened (the view mounts after the attach may answer). */
  private unheard = '';
  private readonly statusListeners = new Set<Listener<TerminalStatus>>();
  private readonly resetListeners = new Set<Listener<void>>();

  constructor(private readonly opts: TerminalSessionOpts) {
    this.name = opts.session;
    this.cols = opts.cols;
    this.rows = opts.rows;
  }

  get status(): TerminalStatus {
    return this.current;
  }

  /** Screen output, in order; the replay of an existing session comes first. */
  onOutput(fn: Listener<string>): () => void {
    this.outputListeners.add(fn);
    if (this.unheard) {
      const early = this.unheard;
      this.unheard = '';
      fn(early);
    }
    return () => this.outputListeners.delete(fn);
  }

  onStatus(fn: Listener<TerminalStatus>): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  /** Called before a manual re-attach: the server replays the screen, so the view must start blank. */
  onReset(fn: Listener<void>): () => void {
    this.resetListeners.add(fn);
    return () => this.resetListeners.delete(fn);
  }

  private setStatus(status: TerminalStatus): void {
    this.current = status;
    for (const fn of this.statusListeners) fn(status);
  }

  /** Attaches (the first time, or again after the session ended or the connection was given up). */
  async connect(): Promise<void> {
    if (this.disposed) return;
    if (this.conn) {
      // A fresh attach replays the whole screen buffer; clear what the view shows first.
      for (const fn of this.resetListeners) fn();
      this.unheard = '';
    }
    this.conn = undefined;
    this.setStatus({ kind: 'connecting' });
    let conn: TerminalConnection;
    try {
      conn = await this.opts.open({
        session: this.name,
        cols: this.cols,
        rows: this.rows,
        ...(this.opts.reconnect !== undefined ? { reconnect: this.opts.reconnect } : {}),
      });
    } catch (err) {
      if (this.disposed) return;
      const advice = adviseError(err);
      this.setStatus({ kind: 'failed', text: advice.message, next: advice.next });
      return;
    }
    if (this.disposed) {
      conn.close();
      return;
    }
    this.conn = conn;
    conn.on('output', (text) => {
      if (this.outputListeners.size === 0) this.unheard = (this.unheard + text).slice(-256 * 1024);
      for (const fn of this.outputListeners) fn(text);
    });
    conn.on('reconnecting', (r) => {
      if (this.conn !== conn) return;
      const lastError = r.error === undefined ? undefined : adviseError(r.error).message;
      this.setStatus({
        kind: 'reconnecting',
        attempt: r.attempt,
        maxAttempts: r.maxAttempts,
        ...(lastError ? { lastError } : {}),
      });
    });
    conn.on('reconnected', () => {
      if (this.conn !== conn) return;
      this.reconnects++;
      this.setStatus({ kind: 'connected', reconnects: this.reconnects });
    });
    conn.on('end', (end) => {
      if (this.conn !== conn || this.disposed) return;
      this.setStatus({
        kind: 'ended',
        end,
        text: describeEnd(end),
        canReconnect: RECONNECTABLE.has(end.reason),
      });
    });
    this.setStatus({ kind: 'connected', reconnects: this.reconnects });
    conn.resize(this.cols, this.rows);
  }

  /** Keystrokes or pasted text. Queued by the SDK while reconnecting. */
  write(data: string): void {
    this.conn?.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!(cols > 0 && rows > 0)) return;
    this.cols = cols;
    this.rows = rows;
    this.conn?.resize(cols, rows);
  }

  /** Leaves the shell running in the sandbox and closes the connection. */
  dispose(): void {
    this.disposed = true;
    this.conn?.close();
    this.outputListeners.clear();
    this.statusListeners.clear();
    this.resetListeners.clear();
  }
}
