import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import type * as NodePty from 'node-pty';
import type { IPty } from 'node-pty';
import type { WebSocket } from 'ws';

import { SandboxdError } from '../errors.ts';
import type { TerminalCloseReason, TerminalInfo, TerminalServerFrame } from '../protocol.ts';
import type { Logger } from './log.ts';
import { signalNameOf } from './processes.ts';
import { CHILD_OOM_SCORE_ADJ, PROCESS_MARKER_ENV, killTree, preferForOomKill } from './process-tree.ts';
import { anchoredTerminalArgv, standbyTerminalArgv } from './reaper.ts';
import { killSession } from './procfs.ts';
import { RingBuffer } from './ring-buffer.ts';
import { STANDBY_READY, StandbyPool, standbyMessage } from './standby.ts';
import { StandbyStartGate } from './standby-start-gate.ts';

type PtyModule = typeof NodePty;

let ptyModule: PtyModule | Error | undefined;

/**
 * Loads node-pty on first use. In the bundle it resolves to `dist/node_modules/node-pty` next to
 * `sandboxd.mjs`. A failure (e.g. a musl image) disables terminals only; the rest keeps working.
 */
export function loadPty(): PtyModule | Error {
  if (ptyModule === undefined) {
    try {
      const nodeRequire = createRequire(import.meta.url);
      ptyModule = nodeRequire(process.env.AGENTTIER_SANDBOXD_NODE_PTY ?? 'node-pty') as PtyModule;
    } catch (err) {
      ptyModule = err instanceof Error ? err : new Error(String(err));
    }
  }
  return ptyModule;
}

export interface TerminalManagerOpts {
  maxSessions: number;
  bufferBytes: number;
  heartbeatMs: number;
  /** A viewer that answered no WebSocket ping for this long is dropped. */
  pongTimeoutMs: number;
  defaultCwd: string;
  defaultShell?: string | undefined;
  baseEnv: Record<string, string>;
  /** agenttier-reaper to run each shell under (reaper.ts): what the shell starts stays below it. */
  reaper?: string;
  /** Called when a shell's reaper exited (what it held is now the init's: kill it). */
  onReaperExit?: () => void;
  /**
   * Standby terminals (a pty with a reaper whose child waits for its shell, standby.ts) kept so a
   * terminal opens while the sandbox's processes fill its pids limit; each holds three pids (reaper,
   * child, node-pty's waiting thread). Needs `reaper`. @default 0
   */
  standbyCount?: number;
  /** Called before a terminal starts (sandboxd fills the other standbys then). */
  beforeStart?: () => void;
  log: Logger;
}

/** A pty whose reaper's child waits for the shell to run (reaper.c, Standby). */
interface StandbyTerminal {
  pty: IPty;
  /** Its child is in raw mode and reads the message (it wrote STANDBY_READY). */
  ready: boolean;
  /** Stops watching its output for STANDBY_READY. */
  unwatch(): void;
}

export interface OpenTerminalOpts {
  session?: string | undefined;
  shell?: string | undefined;
  cwd?: string | undefined;
  cols?: number | undefined;
  rows?: number | undefined;
  /**
   * False: attach to an existing session only and fail with not_found instead of starting a shell
   * (the router's read-only viewers must never create one). @default true
   */
  create?: boolean | undefined;
}

const SESSION_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 << 10;
const STALL_KICK_MS = 30_000;

function clampDim(v: unknown, dflt: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) return dflt;
  return Math.min(65535, Math.max(1, Math.floor(n)));
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function send(ws: WebSocket, frame: TerminalServerFrame): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
}

interface Viewer {
  ws: WebSocket;
  lastPongAt: number;
  stalledSince: number | null;
}

/** A PTY shell owned by sandboxd; viewers come and go, the shell stays until it exits or is killed. */
export class TerminalSession {
  readonly viewers = new Set<Viewer>();
  readonly ring: RingBuffer<null>;
  readonly createdAt = new Date();
  lastActivityAt = new Date();
  cols: number;
  rows: number;
  private ended = false;
  private paused = false;
  private flowTimer: NodeJS.Timeout | undefined;
  /** Set when the shell runs on a standby: input waits for its child's start (standby-start-gate.ts). */
  private readonly startGate: StandbyStartGate | undefined;

  constructor(
    readonly id: string,
    readonly pty: IPty,
    readonly shell: string,
    readonly cwd: string,
    readonly persistent: boolean,
    bufferBytes: number,
    private readonly onEnd: (s: TerminalSession) => void,
    private readonly log: Logger,
    /** The {@link PROCESS_MARKER_ENV} value of the shell and what it starts. */
    private readonly marker: string,
    fromStandby = false,
  ) {
    this.cols = pty.cols;
    this.rows = pty.rows;
    this.ring = new RingBuffer(bufferBytes);
    this.startGate = fromStandby ? new StandbyStartGate((d) => pty.write(d)) : undefined;
    pty.onData((raw) => {
      const data = this.startGate ? this.startGate.output(raw) : raw;
      if (data === '') return;
      this.ring.append(null, Buffer.from(data, 'utf8'));
      const frame = JSON.stringify({ type: 'output', stream: 'stdout', data } satisfies TerminalServerFrame);
      for (const v of this.viewers) if (v.ws.readyState === v.ws.OPEN) v.ws.send(frame);
      this.checkFlow();
    });
    pty.onExit(({ exitCode, signal }) => {
      const sig = signal ? (signalNameOf(signal) ?? `SIG${signal}`) : null;
      this.end('session_ended', `shell exited (code ${exitCode}${sig ? `, ${sig}` : ''})`, exitCode, sig);
    });
  }

  info(): TerminalInfo {
    return {
      session: this.id,
      pid: this.pty.pid,
      shell: this.shell,
      cwd: this.cwd,
      cols: this.cols,
      rows: this.rows,
      viewers: this.viewers.size,
      persistent: this.persistent,
      createdAt: this.createdAt.toISOString(),
      lastActivityAt: this.lastActivityAt.toISOString(),
    };
  }

  /** Adds a viewer: replays the buffered screen output first, then streams live. */
  attach(ws: WebSocket): void {
    const viewer: Viewer = { ws, lastPongAt: Date.now(), stalledSince: null };
    this.viewers.add(viewer);
    const replay = this.ring.contents();
    if (replay.length > 0) {
      // The buffer may start inside a UTF-8 sequence when a huge chunk was cut: skip continuation bytes.
      let i = 0;
      while (i < replay.length && i < 4 && ((replay[i] ?? 0) & 0xc0) === 0x80) i++;
      send(ws, { type: 'output', stream: 'stdout', data: replay.subarray(i).toString('utf8') });
    }
    ws.on('pong', () => {
      viewer.lastPongAt = Date.now();
    });
    ws.on('message', (raw, isBinary) => this.onMessage(raw, isBinary, ws));
    ws.on('close', () => {
      this.viewers.delete(viewer);
      if (!this.persistent && this.viewers.size === 0) this.kill('session_ended');
      this.checkFlow();
    });
    ws.on('error', () => ws.terminate());
  }

  resize(cols: number, rows: number): void {
    if (this.ended) return;
    if (cols === this.cols && rows === this.rows) return;
    try {
      this.pty.resize(cols, rows);
      this.cols = cols;
      this.rows = rows;
    } catch (err) {
      this.log.debug('pty resize failed', { session: this.id, err });
    }
  }

  heartbeat(now: number, pongTimeoutMs: number): void {
    for (const v of this.viewers) {
      if (now - v.lastPongAt > pongTimeoutMs) {
        v.ws.terminate();
        continue;
      }
      send(v.ws, { type: 'heartbeat', ts: now });
      if (v.ws.readyState === v.ws.OPEN) v.ws.ping();
    }
  }

  /** Ends the session: tells viewers why, hangs up the shell and, after a grace, kills its whole session. */
  kill(reason: TerminalCloseReason, message?: string): void {
    if (this.ended) return;
    const pid = this.pty.pid;
    this.end(reason, message, null, null);
    try {
      this.pty.kill('SIGHUP');
    } catch {
      // already gone
    }
    void killSession(pid, 'SIGHUP');
    // Then everything the shell started, also what left its session (setsid, a daemonised server).
    const t = setTimeout(() => killTree({ pid, marker: this.marker }), 1000);
    t.unref();
  }

  private end(
    reason: TerminalCloseReason,
    message: string | undefined,
    exitCode: number | null,
    signal: string | null,
  ): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.flowTimer);
    const frame: TerminalServerFrame = { type: 'close', reason };
    if (message !== undefined) frame.message = message;
    if (reason === 'session_ended' && (exitCode !== null || signal !== null)) {
      frame.exitCode = exitCode;
      frame.signal = signal;
    }
    for (const v of this.viewers) {
      send(v.ws, frame);
      v.ws.close(1000, reason);
    }
    this.viewers.clear();
    this.onEnd(this);
  }

  private onMessage(raw: unknown, isBinary: boolean, ws: WebSocket): void {
    if (isBinary) return;
    let msg: unknown;
    try {
      msg = JSON.parse(String(raw));
    } catch {
      return; // malformed frames are ignored, never fatal
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    switch (m.type) {
      case 'input':
        if (typeof m.data === 'string' && !this.ended) {
          this.lastActivityAt = new Date();
          if (this.startGate) this.startGate.send(m.data);
          else this.pty.write(m.data);
        }
        return;
      case 'resize':
        if (m.cols === undefined || m.rows === undefined) return;
        this.resize(clampDim(m.cols, this.cols), clampDim(m.rows, this.rows));
        return;
      case 'ping':
        send(ws, { type: 'pong' });
        return;
      default:
        return;
    }
  }

  /**
   * Backpressure: stop reading the PTY while a viewer has more than 1 MiB queued (the shell then blocks
   * on write, like a real terminal); resume below 256 KiB. A viewer stuck for 30 s is dropped so it
   * cannot hold the others hostage (it can re-attach and gets the replay buffer).
   */
  private checkFlow(): void {
    if (this.ended) return;
    const now = Date.now();
    let over = false;
    let allLow = true;
    for (const v of this.viewers) {
      const queued = v.ws.bufferedAmount;
      if (queued > HIGH_WATER) {
        v.stalledSince ??= now;
        if (now - v.stalledSince > STALL_KICK_MS) {
          this.log.info('dropping stalled terminal viewer', { session: this.id });
          v.ws.terminate();
          continue;
        }
        over = true;
      } else {
        v.stalledSince = null;
      }
      if (queued > LOW_WATER) allLow = false;
    }
    if (over && !this.paused) {
      this.paused = true;
      this.pty.pause();
      this.flowTimer = setInterval(() => this.checkFlow(), 25);
    } else if (this.paused && allLow) {
      this.paused = false;
      clearInterval(this.flowTimer);
      this.pty.resume();
    }
  }
}

/** PTY sessions keyed by id; they outlive WebSocket connections. */
export class TerminalManager {
  private readonly sessions = new Map<string, TerminalSession>();
  private readonly hbTimer: NodeJS.Timeout;
  private readonly standby: StandbyPool<StandbyTerminal> | undefined;

  constructor(private readonly opts: TerminalManagerOpts) {
    this.hbTimer = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions.values()) s.heartbeat(now, opts.pongTimeoutMs);
    }, opts.heartbeatMs);
    this.hbTimer.unref();
    const reaper = opts.reaper;
    if (reaper && (opts.standbyCount ?? 0) > 0) {
      this.standby = new StandbyPool<StandbyTerminal>({
        size: opts.standbyCount ?? 0,
        create: (onGone) => this.startStandby(reaper, onGone),
        discard: (t) => t.pty.kill('SIGKILL'),
        isReady: (t) => t.ready,
      });
    }
  }

  /** Starts standby terminals up to their count (before anything of the sandbox's runs; standby.ts). */
  fillStandby(): void {
    if (this.standby && !(loadPty() instanceof Error)) this.standby.fill();
  }

  /** Standby terminals waiting now (tests). */
  get standbyCount(): number {
    return this.standby?.count ?? 0;
  }

  private startStandby(reaper: string, onGone: () => void): StandbyTerminal | undefined {
    const pty = loadPty();
    if (pty instanceof Error) return undefined;
    const argv = standbyTerminalArgv(reaper, CHILD_OOM_SCORE_ADJ);
    const proc = pty.spawn(argv[0] as string, argv.slice(1), {
      name: 'xterm-256color',
      cols: 120,
      rows: 40,
      cwd: '/',
      env: {},
    });
    let seen = '';
    const entry: StandbyTerminal = {
      pty: proc,
      ready: false,
      unwatch: () => watch.dispose(),
    };
    const watch = proc.onData((data) => {
      seen += data;
      if (seen.includes(STANDBY_READY)) {
        entry.ready = true;
        watch.dispose();
      } else if (seen.length > 4096) watch.dispose(); // not the reaper talking: never ready
    });
    proc.onExit(() => {
      onGone();
      this.opts.onReaperExit?.();
    });
    return entry;
  }

  get size(): number {
    return this.sessions.size;
  }

  get available(): boolean {
    return !(loadPty() instanceof Error);
  }

  list(): TerminalInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  get(id: string): TerminalSession | undefined {
    return this.sessions.get(id);
  }

  /** Finds the session or starts a new shell for it. Throws before any WebSocket upgrade. */
  open(o: OpenTerminalOpts): { session: TerminalSession; created: boolean } {
    if (o.session !== undefined && !SESSION_ID.test(o.session)) {
      throw new SandboxdError('invalid_argument', 'session must match [A-Za-z0-9._:@-]{1,128}');
    }
    const existing = o.session === undefined ? undefined : this.sessions.get(o.session);
    if (existing) {
      if (o.cols !== undefined || o.rows !== undefined) {
        existing.resize(clampDim(o.cols, existing.cols), clampDim(o.rows, existing.rows));
      }
      return { session: existing, created: false };
    }
    if (o.create === false)
      throw new SandboxdError('not_found', `terminal session ${o.session ?? '(unnamed)'} is not open`);
    const pty = loadPty();
    if (pty instanceof Error) {
      throw new SandboxdError('pty_unavailable', `terminals are unavailable in this sandbox: ${pty.message}`);
    }
    if (this.sessions.size >= this.opts.maxSessions) {
      throw new SandboxdError(
        'too_many_sessions',
        `too many terminal sessions (limit ${this.opts.maxSessions}); close some`,
      );
    }
    const shell = this.pickShell(o.shell);
    const cwd = o.cwd ?? this.opts.defaultCwd;
    if (!isAbsolute(cwd) || cwd.includes('\0'))
      throw new SandboxdError('invalid_argument', 'cwd must be an absolute path');
    try {
      if (!statSync(cwd).isDirectory())
        throw new SandboxdError('not_a_directory', `cwd ${cwd} is not a directory`);
    } catch (err) {
      if (err instanceof SandboxdError) throw err;
      throw new SandboxdError('not_found', `cwd ${cwd} does not exist`);
    }
    const env: Record<string, string> = {
      LANG: 'C.UTF-8',
      ...this.opts.baseEnv,
      TERM: 'xterm-256color',
      COLORTERM: 'truecolor',
      [PROCESS_MARKER_ENV]: `t-${randomBytes(8).toString('hex')}`,
    };
    let proc: IPty;
    // A standby first when there is one (it needs no new pid: the only way a terminal opens while the
    // sandbox's processes fill its pids limit); the pool then starts its replacement.
    this.fillStandby();
    this.opts.beforeStart?.();
    const standby = this.standby?.take();
    if (standby) {
      standby.unwatch();
      proc = standby.pty;
      proc.resize(clampDim(o.cols, 120), clampDim(o.rows, 40));
      proc.write(standbyMessage([shell, '-l'], cwd, env));
    } else {
      try {
        const reaper = this.opts.reaper;
        const argv = reaper
          ? anchoredTerminalArgv(reaper, [shell, '-l'], CHILD_OOM_SCORE_ADJ)
          : [shell, '-l'];
        proc = pty.spawn(argv[0] as string, argv.slice(1), {
          name: 'xterm-256color',
          cols: clampDim(o.cols, 120),
          rows: clampDim(o.rows, 40),
          cwd,
          env,
        });
      } catch (err) {
        throw new SandboxdError('resource_exhausted', `cannot start a terminal: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (!this.opts.reaper) preferForOomKill(proc.pid);
      if (this.opts.reaper && this.opts.onReaperExit) proc.onExit(this.opts.onReaperExit);
    }
    const id = o.session ?? `t-${randomBytes(8).toString('hex')}`;
    const session = new TerminalSession(
      id,
      proc,
      shell,
      cwd,
      o.session !== undefined,
      this.opts.bufferBytes,
      (s) => {
        if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
      },
      this.opts.log,
      env[PROCESS_MARKER_ENV] as string,
      standby !== undefined,
    );
    this.sessions.set(id, session);
    this.opts.log.info('terminal started', { session: id, pid: proc.pid, shell });
    return { session, created: true };
  }

  kill(id: string, reason: TerminalCloseReason = 'session_killed'): void {
    const s = this.sessions.get(id);
    if (!s) throw new SandboxdError('not_found', `terminal session ${id} not found`);
    s.kill(reason);
  }

  shutdown(reason: TerminalCloseReason): void {
    clearInterval(this.hbTimer);
    this.standby?.close();
    for (const s of [...this.sessions.values()]) s.kill(reason);
  }

  private pickShell(requested: string | undefined): string {
    if (requested !== undefined && requested !== '') {
      if (!isAbsolute(requested) || requested.includes('\0')) {
        throw new SandboxdError('invalid_argument', 'shell must be an absolute path');
      }
      if (isExecutable(requested)) return requested;
      this.opts.log.info('requested shell not found, falling back', { shell: requested });
    }
    const dflt = this.opts.defaultShell;
    if (dflt && isAbsolute(dflt) && isExecutable(dflt)) return dflt;
    return isExecutable('/bin/bash') ? '/bin/bash' : '/bin/sh';
  }
}
