import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isAbsolute } from 'node:path';
import type { Readable } from 'node:stream';

import { SandboxdError } from '../errors.ts';
import { EXEC_TRUNCATION_MARKER } from '../protocol.ts';
import type {
  CommandSpec,
  ExecRequest,
  ExecResult,
  OutputChunk,
  ProcessInfo,
  StartProcessRequest,
} from '../protocol.ts';
import type { Logger } from './log.ts';
import {
  CHILD_OOM_SCORE_ADJ,
  PROCESS_MARKER_ENV,
  killTree,
  preferForOomKill,
  startTicksOf,
} from './process-tree.ts';
import type { ReaperStatus } from './reaper.ts';
import { anchoredProcessArgv, reaperStatusLines, standbyProcessArgv } from './reaper.ts';
import { RingBuffer } from './ring-buffer.ts';
import { StandbyPool, standbyMessage } from './standby.ts';

export const TRUNCATION_MARKER = EXEC_TRUNCATION_MARKER;

export interface ProcessManagerOpts {
  /** Running processes (exec + background) at once. */
  maxProcesses: number;
  /** Default per-stream cap of unary exec output. */
  maxOutputBytes: number;
  /** Replay buffer of a background process. */
  bufferBytes: number;
  /** How long finished background processes keep their exit info and buffer. */
  finishedTtlMs: number;
  /** Finished processes kept at most (oldest evicted first). */
  maxFinished: number;
  defaultCwd: string;
  baseEnv: Record<string, string>;
  /** Default exec timeout. */
  defaultExecTimeoutMs: number;
  /** A killOnDetach process nobody attached to within this long is killed. */
  attachTimeoutMs: number;
  /** After the main process exits, wait this long for inherited stdio to close. */
  stdioGraceMs: number;
  /**
   * agenttier-reaper (reaper.ts): every process runs under its own subreaper, so what it starts cannot
   * leave its subtree. Absent: trees are found by session, group and marker only.
   */
  reaper?: string;
  /** Called when a reaper exits: its leftovers (if it was killed) are now the init's to kill. */
  onReaperExit?: () => void;
  /**
   * Standby reapers kept for when the sandbox's processes fill its pids limit (standby.ts); each holds
   * two pids. Needs `reaper`. @default 0
   */
  standbyCount?: number;
  /**
   * Warm reapers for ordinary execs and processes: standbys of their own (never the pids reserve
   * above), so a command starts by writing it to a reaper that already runs instead of sandboxd
   * spawning one (Node blocks until that exec) and the reaper then forking the command, all on the
   * request's path. Each holds two pids; replaced after the command was handed over. Needs `reaper`.
   * @default 0
   */
  warmCount?: number;
  /** Called before anything starts (sandboxd fills the other standbys then). */
  beforeStart?: () => void;
  log: Logger;
}

export type ExitStatus = Pick<ExecResult, 'exitCode' | 'signal' | 'timedOut' | 'durationMs'>;

type ProcessKind = ProcessInfo['kind'];

interface SpawnSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: 'pipe' | 'ignore';
}

/** Turns a command (argv or shell string) into argv. */
export function resolveCommand(command: CommandSpec | undefined): string[] {
  if (typeof command === 'string') {
    if (command.length === 0) throw new SandboxdError('invalid_argument', 'command must not be empty');
    if (command.includes('\0')) throw new SandboxdError('invalid_argument', 'command must not contain NUL');
    return ['/bin/sh', '-c', command];
  }
  if (!Array.isArray(command) || command.length === 0) {
    throw new SandboxdError('invalid_argument', 'command is required: an argv array or a shell string');
  }
  for (const a of command) {
    if (typeof a !== 'string')
      throw new SandboxdError('invalid_argument', 'command array must contain only strings');
    if (a.includes('\0')) throw new SandboxdError('invalid_argument', 'command must not contain NUL');
  }
  if (command[0] === '') throw new SandboxdError('invalid_argument', 'command[0] must not be empty');
  return [...command];
}

export function signalNumber(name: string): number | undefined {
  return (osConstants.signals as Record<string, number | undefined>)[name];
}

export function signalNameOf(n: number): string | undefined {
  return Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
}

/** Accepts `SIGTERM`, `TERM` or a number; returns the canonical name. */
export function normalizeSignal(sig: unknown): NodeJS.Signals {
  if (typeof sig === 'number') {
    const name = signalNameOf(sig);
    if (name) return name as NodeJS.Signals;
  } else if (typeof sig === 'string') {
    const up = sig.toUpperCase();
    const name = up.startsWith('SIG') ? up : `SIG${up}`;
    if (signalNumber(name) !== undefined) return name as NodeJS.Signals;
  }
  throw new SandboxdError('invalid_argument', `unknown signal: ${String(sig)}`);
}

/** Sends a signal to the whole process group; falls back to the process itself. */
export function killGroup(pid: number, sig: NodeJS.Signals | number): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  }
}

function decodeStdin(data: string | undefined, encoding: string | undefined): Buffer | undefined {
  if (data === undefined || data === null) return undefined;
  if (typeof data !== 'string') throw new SandboxdError('invalid_argument', 'stdin must be a string');
  if (encoding === 'base64') return Buffer.from(data, 'base64');
  if (encoding === undefined || encoding === 'utf8' || encoding === 'utf-8') return Buffer.from(data, 'utf8');
  throw new SandboxdError('invalid_argument', `unknown stdinEncoding: ${String(encoding)}`);
}

function validateTimeout(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new SandboxdError('invalid_argument', `${name} must be a non-negative number of milliseconds`);
  }
  return v;
}

/** How long a reaper's exit waits for its last status line before its own status stands for the command's. */
const REAPER_STATUS_WAIT_MS = 2_000;
const SPAWN_EXIT_CODES: Record<string, number> = { ENOENT: 127, EACCES: 126, ENOEXEC: 126, EISDIR: 126 };

/** A process started by sandboxd (unary exec, background process, or the start hook). */
export class ManagedProcess extends EventEmitter<{
  output: [OutputChunk];
  exit: [ExitStatus];
  stdinClosed: [];
}> {
  readonly startedAtMs = Date.now();
  private readonly startedHr = process.hrtime.bigint();
  child: ChildProcess | undefined;
  pid: number | null = null;
  exited: ExitStatus | undefined;
  finishedAtMs: number | null = null;
  stdinOpen = false;
  attachments = 0;
  everAttached = false;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private readonly pausedBy = new Set<unknown>();
  /** When the child started, in clock ticks after boot (bounds the scan for its descendants). */
  startTicks: number | undefined;
  /** Runs under its own agenttier-reaper (pid is the reaper's): its subtree is everything it started. */
  anchored = false;

  constructor(
    readonly id: string,
    readonly kind: ProcessKind,
    readonly name: string | null,
    readonly argv: string[],
    readonly cwd: string,
    readonly killOnDetach: boolean,
    readonly ring: RingBuffer<'stdout' | 'stderr'>,
    private readonly killGraceMs: number,
  ) {
    super();
  }

  get running(): boolean {
    return this.exited === undefined;
  }

  info(): ProcessInfo {
    return {
      id: this.id,
      name: this.name,
      kind: this.kind,
      pid: this.pid,
      command: this.argv,
      cwd: this.cwd,
      state: this.running ? 'running' : 'exited',
      startedAt: new Date(this.startedAtMs).toISOString(),
      finishedAt: this.finishedAtMs === null ? null : new Date(this.finishedAtMs).toISOString(),
      exitCode: this.exited?.exitCode ?? null,
      signal: this.exited?.signal ?? null,
      timedOut: this.exited?.timedOut ?? false,
      durationMs: this.exited?.durationMs ?? null,
      killOnDetach: this.killOnDetach,
      stdinOpen: this.stdinOpen,
      attachments: this.attachments,
      outputBytes: this.ring.endOffset,
      bufferStartOffset: this.ring.startOffset,
    };
  }

  elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.startedHr) / 1e6;
  }

  /** Records the output chunk and tells attached readers. */
  pushOutput(stream: 'stdout' | 'stderr', data: Buffer): void {
    const chunk = this.ring.append(stream, data);
    this.emit('output', { stream, offset: chunk.offset, data });
  }

  writeStdin(data: Buffer): void {
    const stdin = this.child?.stdin;
    if (!this.stdinOpen || !stdin || stdin.destroyed) {
      throw new SandboxdError('invalid_argument', 'stdin of this process is closed');
    }
    stdin.write(data);
  }

  closeStdin(): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed) stdin.end();
    if (this.stdinOpen) {
      this.stdinOpen = false;
      this.emit('stdinClosed');
    }
  }

  signal(sig: NodeJS.Signals): boolean {
    if (!this.running || this.pid === null) return false;
    if (sig === 'SIGKILL') {
      this.killTree();
      return true;
    }
    return killGroup(this.pid, sig);
  }

  /**
   * SIGKILLs every process this one started: its group, its session, and descendants that left both
   * (found by the marker in their environment). Retries a few times in the background when a scan still
   * finds members (a fork bomb outside the group races the scan).
   */
  killTree(attempt = 0): void {
    if (this.pid === null) return;
    const left = killTree(
      {
        pid: this.pid,
        marker: this.id,
        ...(this.startTicks !== undefined ? { startTicks: this.startTicks } : {}),
      },
      { anchored: this.anchored },
    );
    if (left > 0 && attempt < 50) setTimeout(() => this.killTree(attempt + 1), 20).unref();
  }

  /** SIGTERM to the group, SIGKILL to the whole tree after the grace period (or at once with graceMs 0). */
  terminate(graceMs = this.killGraceMs): void {
    if (this.pid === null) return;
    if (graceMs <= 0) {
      this.killTree();
      return;
    }
    if (this.running) killGroup(this.pid, 'SIGTERM');
    if (!this.killTimer) {
      // Also after the leader is gone: descendants that ignored SIGTERM must die.
      this.killTimer = setTimeout(() => this.killTree(), graceMs);
      this.killTimer.unref();
    }
  }

  startTimeout(ms: number | undefined): void {
    if (ms === undefined || ms <= 0) return;
    this.timeoutTimer = setTimeout(() => {
      if (!this.running) return;
      this.timedOut = true;
      this.terminate();
    }, ms);
    this.timeoutTimer.unref();
  }

  /** Pause reading output while a slow reader catches up (the child then blocks on its writes). */
  pauseOutput(by: unknown): void {
    this.pausedBy.add(by);
    this.child?.stdout?.pause();
    this.child?.stderr?.pause();
  }

  resumeOutput(by: unknown): void {
    this.pausedBy.delete(by);
    if (this.pausedBy.size === 0) {
      this.child?.stdout?.resume();
      this.child?.stderr?.resume();
    }
  }

  finish(code: number | null, sig: NodeJS.Signals | null): void {
    if (this.exited) return;
    clearTimeout(this.timeoutTimer);
    const signo = sig ? (signalNumber(sig) ?? 0) : 0;
    const status: ExitStatus = {
      exitCode: this.timedOut ? -1 : (code ?? 128 + signo),
      signal: sig,
      timedOut: this.timedOut,
      durationMs: Math.round(this.elapsedMs()),
    };
    this.exited = status;
    this.finishedAtMs = Date.now();
    this.stdinOpen = false;
    this.pausedBy.clear();
    this.emit('exit', status);
  }
}

/**
 * Starts and tracks processes. Each child gets its own process group (setsid), so signals, timeouts and
 * kills reach its descendants too.
 */
export class ProcessManager {
  private readonly procs = new Map<string, ManagedProcess>();
  private running = 0;
  private readonly sweepTimer: NodeJS.Timeout;
  private shuttingDown = false;
  private readonly standby: StandbyPool<ChildProcess> | undefined;
  private readonly warm: StandbyPool<ChildProcess> | undefined;

  constructor(private readonly opts: ProcessManagerOpts) {
    this.sweepTimer = setInterval(
      () => this.sweep(),
      Math.min(30_000, Math.max(1000, opts.finishedTtlMs / 4)),
    );
    this.sweepTimer.unref();
    const reaper = opts.reaper;
    if (reaper && (opts.standbyCount ?? 0) > 0) {
      this.standby = new StandbyPool<ChildProcess>({
        size: opts.standbyCount ?? 0,
        create: (onGone) => this.startStandby(reaper, onGone),
        discard: (child) => killGroup(child.pid as number, 'SIGKILL'),
      });
    }
    if (reaper && (opts.warmCount ?? 0) > 0) {
      this.warm = new StandbyPool<ChildProcess>({
        size: opts.warmCount ?? 0,
        create: (onGone) => this.startStandby(reaper, onGone),
        discard: (child) => killGroup(child.pid as number, 'SIGKILL'),
      });
    }
  }

  /** Warm reapers waiting now (tests). */
  get warmCount(): number {
    return this.warm?.count ?? 0;
  }

  /** Standby reapers waiting now (tests). */
  get standbyCount(): number {
    return this.standby?.count ?? 0;
  }

  /** Starts standby reapers up to their count (before anything of the sandbox's runs; standby.ts). */
  fillStandby(): void {
    this.standby?.fill();
  }

  /**
   * A reaper whose child waits for its command on descriptor 4 (reaper.c, Standby), with the same
   * descriptors as {@link launch} gives a reaper, stdin a pipe whatever the command will need.
   */
  private startStandby(reaper: string, onGone: () => void): ChildProcess | undefined {
    const argv = standbyProcessArgv(reaper, CHILD_OOM_SCORE_ADJ);
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: '/',
      env: {},
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    child.once('error', () => onGone());
    if (child.pid === undefined) return undefined; // EAGAIN and the like: 'error' follows
    child.once('exit', () => {
      onGone();
      this.opts.onReaperExit?.();
    });
    return child;
  }

  get runningCount(): number {
    return this.running;
  }

  get size(): number {
    return this.procs.size;
  }

  list(): ProcessInfo[] {
    return [...this.procs.values()].map((p) => p.info());
  }

  get(id: string): ManagedProcess {
    const p = this.procs.get(id);
    if (!p) throw new SandboxdError('not_found', `process ${id} not found`);
    return p;
  }

  /** Runs a command to completion and returns its collected output. */
  async exec(req: ExecRequest, signal?: AbortSignal): Promise<ExecResult> {
    const argv = resolveCommand(req.command);
    const timeoutMs = validateTimeout(req.timeoutMs, 'timeoutMs') ?? this.opts.defaultExecTimeoutMs;
    const killGraceMs = validateTimeout(req.killGraceMs, 'killGraceMs') ?? 1000;
    const cap = validateTimeout(req.maxOutputBytes, 'maxOutputBytes') ?? this.opts.maxOutputBytes;
    const outEnc = req.outputEncoding ?? 'utf8';
    if (outEnc !== 'utf8' && outEnc !== 'base64') {
      throw new SandboxdError('invalid_argument', `unknown outputEncoding: ${String(outEnc)}`);
    }
    const stdinData = decodeStdin(req.stdin, req.stdinEncoding);
    const spec = this.spawnSpec(argv, req.cwd, req.env, stdinData ? 'pipe' : 'ignore');

    const collected = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const sizes = { stdout: 0, stderr: 0 };
    const truncated = { stdout: false, stderr: false };
    const proc = new ManagedProcess(
      this.newId(),
      'exec',
      null,
      argv,
      spec.cwd,
      false,
      new RingBuffer(0),
      killGraceMs,
    );
    proc.on('output', ({ stream, data }) => {
      const room = cap - sizes[stream];
      if (room <= 0) {
        truncated[stream] = true;
        return;
      }
      const part = data.length > room ? data.subarray(0, room) : data;
      if (part.length < data.length) truncated[stream] = true;
      collected[stream].push(part);
      sizes[stream] += part.length;
    });
    const done = new Promise<ExitStatus>((resolve) => proc.once('exit', resolve));
    await this.launchOrStandby(proc, spec, stdinData, false);
    proc.startTimeout(timeoutMs);
    const onAbort = (): void => proc.terminate(0);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const status = await done;
      const render = (s: 'stdout' | 'stderr'): string => {
        const buf = Buffer.concat(collected[s]);
        const marker = truncated[s] ? TRUNCATION_MARKER : '';
        return outEnc === 'base64'
          ? Buffer.concat([buf, Buffer.from(marker)]).toString('base64')
          : buf.toString('utf8') + marker;
      };
      return {
        stdout: render('stdout'),
        stderr: render('stderr'),
        exitCode: status.exitCode,
        signal: status.signal,
        durationMs: status.durationMs,
        timedOut: status.timedOut,
        truncated: truncated.stdout || truncated.stderr,
      };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Starts a background process; output goes to its replay buffer and to attached readers. */
  async start(
    req: StartProcessRequest,
    kind: 'background' | 'onstart' = 'background',
  ): Promise<ManagedProcess> {
    const argv = resolveCommand(req.command);
    const timeoutMs = validateTimeout(req.timeoutMs, 'timeoutMs');
    const killGraceMs = validateTimeout(req.killGraceMs, 'killGraceMs') ?? 1000;
    const stdinData = decodeStdin(req.stdin, req.stdinEncoding);
    const keepStdin = req.openStdin ?? stdinData === undefined;
    const spec = this.spawnSpec(argv, req.cwd, req.env, keepStdin || stdinData ? 'pipe' : 'ignore');
    if (req.name !== undefined && req.name !== null && typeof req.name !== 'string') {
      throw new SandboxdError('invalid_argument', 'name must be a string');
    }
    const proc = new ManagedProcess(
      kind === 'onstart' ? 'onstart' : this.newId(),
      kind,
      req.name ?? null,
      argv,
      spec.cwd,
      req.killOnDetach === true,
      new RingBuffer(this.opts.bufferBytes),
      killGraceMs,
    );
    await this.launchOrStandby(proc, spec, stdinData, keepStdin);
    proc.startTimeout(timeoutMs);
    if (proc.killOnDetach) {
      const t = setTimeout(() => {
        if (!proc.everAttached) {
          this.opts.log.info('killing process nobody attached to', { id: proc.id });
          proc.terminate();
        }
      }, this.opts.attachTimeoutMs);
      t.unref();
    }
    return proc;
  }

  /** Forgets a process, killing it first if it still runs. */
  remove(id: string): void {
    const p = this.get(id);
    if (p.running) p.terminate(0);
    this.procs.delete(id);
  }

  /** Kills every running process group; resolves when they exited or `graceMs` passed (then SIGKILL). */
  async shutdown(graceMs: number): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.sweepTimer);
    this.standby?.close();
    this.warm?.close();
    const live = [...this.procs.values()].filter((p) => p.running);
    for (const p of live) p.signal('SIGTERM');
    const all = Promise.all(
      live.map((p) => new Promise<void>((r) => (p.running ? p.once('exit', () => r()) : r()))),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const p of live) p.killTree();
  }

  private newId(): string {
    return `p-${randomBytes(8).toString('hex')}`;
  }

  private spawnSpec(
    argv: string[],
    cwd: string | undefined,
    env: Record<string, string> | undefined,
    stdin: 'pipe' | 'ignore',
  ): SpawnSpec {
    if (this.shuttingDown) throw new SandboxdError('shutting_down', 'sandboxd is shutting down');
    if (this.running >= this.opts.maxProcesses) {
      throw new SandboxdError(
        'too_many_processes',
        `too many running processes (limit ${this.opts.maxProcesses}); wait for some to finish or kill them`,
        { details: { limit: this.opts.maxProcesses } },
      );
    }
    const dir = cwd ?? this.opts.defaultCwd;
    if (typeof dir !== 'string' || !isAbsolute(dir) || dir.includes('\0')) {
      throw new SandboxdError('invalid_argument', 'cwd must be an absolute path');
    }
    let st;
    try {
      st = statSync(dir);
    } catch {
      throw new SandboxdError('not_found', `cwd ${dir} does not exist`);
    }
    if (!st.isDirectory()) throw new SandboxdError('not_a_directory', `cwd ${dir} is not a directory`);
    const merged: Record<string, string> = { ...this.opts.baseEnv };
    if (env !== undefined && env !== null) {
      if (typeof env !== 'object' || Array.isArray(env))
        throw new SandboxdError('invalid_argument', 'env must be an object');
      for (const [k, v] of Object.entries(env)) {
        if (
          typeof v !== 'string' ||
          k.length === 0 ||
          k.includes('=') ||
          k.includes('\0') ||
          v.includes('\0')
        ) {
          throw new SandboxdError('invalid_argument', `invalid env entry: ${k}`);
        }
        merged[k] = v;
      }
    }
    return { argv, cwd: dir, env: merged, stdin };
  }

  /**
   * {@link launch}, and when the sandbox has no pids (or memory) left for a new reaper, the same on a
   * standby one, which needs none. Standbys are made before anything of the sandbox's is started, so
   * they exist before its code could fill the limit.
   */
  private async launchOrStandby(
    proc: ManagedProcess,
    spec: SpawnSpec,
    stdinData: Buffer | undefined,
    keepStdin: boolean,
  ): Promise<void> {
    this.fillStandby();
    this.opts.beforeStart?.();
    const warm = this.warm?.take({ refill: false });
    if (warm) {
      this.handOver(warm, proc, spec);
      // The replacement's spawn blocks this thread until its exec (~1.5 ms of CPU, a fork of the whole
      // daemon). A unary exec's caller waits for its answer, so for an exec that spawn comes after the
      // answer was written ('exit' is emitted before exec() resolves and the route sends the answer in
      // the microtasks that follow; setImmediate runs after them), while the caller reads the answer
      // and sends its next request. Anything else gets its replacement once the command is on its way.
      if (proc.kind === 'exec') proc.once('exit', () => this.refillWarm());
      else this.refillWarm();
      return this.launch(proc, spec, stdinData, keepStdin, warm);
    }
    try {
      await this.launch(proc, spec, stdinData, keepStdin);
    } catch (err) {
      if (!(err instanceof SandboxdError) || err.code !== 'resource_exhausted') throw err;
      const standby = this.standby?.take();
      if (!standby) throw err;
      this.opts.log.info('starting a process on a standby reaper: the sandbox is out of pids or memory', {
        id: proc.id,
      });
      this.handOver(standby, proc, spec);
      await this.launch(proc, spec, stdinData, keepStdin, standby);
    }
    // The first command started the slow way; later ones find a warm reaper.
    this.refillWarm();
  }

  /** Tops the warm reapers up on the next turn of the event loop, unless sandboxd is shutting down. */
  private refillWarm(): void {
    setImmediate(() => {
      if (!this.shuttingDown) this.warm?.fill();
    });
  }

  /** Writes the command to a standby reaper's descriptor 4 (reaper.c, Standby). */
  private handOver(standby: ChildProcess, proc: ManagedProcess, spec: SpawnSpec): void {
    const control = standby.stdio[4] as NodeJS.WritableStream;
    control.on('error', () => {}); // the standby died meanwhile: its status says so
    control.end(standbyMessage(spec.argv, spec.cwd, { ...spec.env, [PROCESS_MARKER_ENV]: proc.id }));
  }

  /**
   * Spawns the child. Resolves once it runs, or once a "cannot run" spawn error (ENOENT, EACCES) has been
   * recorded as exit status 127/126 like a shell would; rejects on resource errors (EAGAIN…), which the
   * caller can retry.
   */
  private async launch(
    proc: ManagedProcess,
    spec: SpawnSpec,
    stdinData: Buffer | undefined,
    keepStdin: boolean,
    standby?: ChildProcess,
  ): Promise<void> {
    const reaper = this.opts.reaper;
    // Under the reaper (reaper.ts), descriptor 3 carries its status lines: the command runs, could not
    // start, or ended (its exit, not the reaper's, which lives on while descendants do).
    const stdio: StdioOptions = reaper ? [spec.stdin, 'pipe', 'pipe', 'pipe'] : [spec.stdin, 'pipe', 'pipe'];
    const argv = reaper ? anchoredProcessArgv(reaper, spec.argv, CHILD_OOM_SCORE_ADJ) : spec.argv;
    let child: ChildProcess;
    try {
      child =
        standby ??
        spawn(argv[0] as string, argv.slice(1), {
          cwd: spec.cwd,
          env: { ...spec.env, [PROCESS_MARKER_ENV]: proc.id },
          stdio,
          detached: true, // setsid(): own session and process group
        });
    } catch (err) {
      throw this.spawnError(err);
    }
    if (child.pid === undefined) {
      // Node reports the errno on the next tick.
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
      this.cannotRun(proc, err);
      return;
    }
    const pid = child.pid;
    // Everything is listened to from here on, before any await: if the reaper is done before its first
    // status line is read, Node drains (and drops) stdio nobody listens to, and its exit would be missed.
    child.stdout?.on('data', (d: Buffer) => proc.pushOutput('stdout', d));
    child.stderr?.on('data', (d: Buffer) => proc.pushOutput('stderr', d));
    let reaperExit: [number | null, NodeJS.Signals | null] | undefined;
    // "D" from the reaper: it found no child left to wait for after the command ended. As the subreaper
    // of its subtree (or init of its PID namespace) every orphan below it was its child, and only it
    // could fork into that subtree, so nothing the command started is alive: the /proc scan of the tree
    // kill is skipped. Only the reaper holds descriptor 3 (close-on-exec; non-dumpable, so not through
    // /proc/PID/fd either): the command cannot say it. Without "D" (the reaper was killed, `kill -9`,
    // or still waits for descendants), the tree is scanned for and killed as ever.
    let reaperEmptied = false;
    let statusDone = !reaper;
    let started = false;
    let exitInfo: [number | null, NodeJS.Signals | null] | undefined;
    let pendingStreams = (child.stdout ? 1 : 0) + (child.stderr ? 1 : 0);
    let graceTimer: NodeJS.Timeout | undefined;
    const finalize = (): void => {
      if (!started || !exitInfo || proc.exited) return;
      clearTimeout(graceTimer);
      this.running--;
      // An exec's whole tree ends with it (background jobs, `setsid` children, a fork bomb), so nothing
      // it started keeps holding the sandbox's pids; so does a killOnDetach process's (a streaming exec:
      // a command whose caller is watching it). Background processes keep theirs (an onStart hook that
      // starts a server and exits is normal) until they are killed.
      if ((proc.kind === 'exec' || proc.killOnDetach) && !reaperEmptied) proc.killTree();
      proc.finish(exitInfo[0], exitInfo[1]);
      if (proc.kind === 'exec') this.procs.delete(proc.id);
    };
    const afterMainExit = (): void => {
      if (!started || !exitInfo || proc.exited || graceTimer) return;
      if (pendingStreams <= 0) return finalize();
      // Descendants may still hold the pipes open (e.g. `server &`): do not wait for them forever.
      graceTimer = setTimeout(() => {
        // Timers run before the poll phase: when the loop was busy, output the command wrote before
        // exiting may still be unread. Let one poll phase read it (and see the pipes close) first.
        setImmediate(() => {
          if (proc.exited) return;
          child.stdout?.destroy();
          child.stderr?.destroy();
          finalize();
        });
      }, this.opts.stdioGraceMs);
      graceTimer.unref();
    };
    const mainExited = (code: number | null, sig: NodeJS.Signals | null): void => {
      if (exitInfo) return;
      exitInfo = [code, sig];
      afterMainExit();
    };
    const streamClosed = (): void => {
      pendingStreams--;
      if (pendingStreams <= 0) finalize();
    };
    child.stdout?.once('close', streamClosed);
    child.stderr?.once('close', streamClosed);
    // Under the reaper, its own exit stands for the command's only when the reaper could not report
    // (killed first): the status line ("S 15" for a command killed by SIGTERM) may still sit unread
    // in descriptor 3 when Node handles the exit, so the reaper's status (143) waits for that stream
    // to end. A bounded wait: nothing but reapers holds descriptor 3 (close-on-exec).
    let statusWait: NodeJS.Timeout | undefined;
    const reaperEnded = (): void => {
      if (!reaperExit) return;
      if (statusDone) {
        clearTimeout(statusWait);
        mainExited(...reaperExit);
      } else if (!statusWait) {
        const [code, sig] = reaperExit;
        statusWait = setTimeout(() => mainExited(code, sig), REAPER_STATUS_WAIT_MS);
        statusWait.unref();
      }
    };
    const childExited = (code: number | null, sig: NodeJS.Signals | null): void => {
      if (!reaper) return mainExited(code, sig);
      reaperExit ??= [code, sig];
      reaperEnded();
    };
    child.once('exit', (code, sig) => {
      // Under the reaper this is the reaper ending: after the command (already reported), or killed
      // before it could report (then the command's status is the reaper's). Either way whatever it
      // still held is reparented to the container's init now: kill all of that (a standby's own
      // listener does that already).
      childExited(code, sig);
      if (reaper && !standby) this.opts.onReaperExit?.();
    });
    if (child.exitCode !== null || child.signalCode !== null) childExited(child.exitCode, child.signalCode);
    child.on('error', (err) => this.opts.log.warn('child process error', { id: proc.id, err }));

    if (reaper) {
      const lines = reaperStatusLines(child.stdio[3] as Readable);
      const first = (await lines.next()).value as ReaperStatus | undefined;
      if (first?.kind !== 'running') {
        statusDone = true;
        // The reaper could not start the command (or died before it could tell): the same answers as
        // a failed spawn, and nothing of it is left running.
        killGroup(pid, 'SIGKILL');
        const code = first?.kind === 'error' ? first.code : 'EIO';
        this.cannotRun(proc, Object.assign(new Error(`cannot start: ${code}`), { code }));
        return;
      }
      // The command's end is acted on once "D" was read too, or after the lines already read: the
      // reaper writes "D" right after "X"/"S" when nothing is left, usually in the same read; when it is
      // not there by the next turn of the event loop, the tree is scanned and killed as ever.
      let ended: [number | null, NodeJS.Signals | null] | undefined;
      const commandEnded = (): void => {
        if (ended) mainExited(...ended);
      };
      void (async () => {
        try {
          for (let r = await lines.next(); !r.done; r = await lines.next()) {
            const st = r.value;
            if (st.kind === 'exited' || st.kind === 'signaled') {
              ended =
                st.kind === 'exited'
                  ? [st.code, null]
                  : [null, (signalNameOf(st.signal) ?? null) as NodeJS.Signals | null];
              setImmediate(commandEnded);
            } else if (st.kind === 'emptied' && ended) {
              reaperEmptied = true;
              commandEnded();
            }
          }
        } catch {
          // A broken status pipe: the reaper's own exit status stands.
        } finally {
          commandEnded();
          statusDone = true;
          reaperEnded();
        }
      })();
    }
    proc.child = child;
    proc.pid = pid;
    proc.anchored = reaper !== undefined;
    proc.startTicks = startTicksOf(pid);
    if (!reaper) preferForOomKill(pid); // the reaper sets it itself before forking the command
    this.procs.set(proc.id, proc);
    this.running++;
    if (child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE when the child exits without reading
      proc.stdinOpen = keepStdin;
      if (stdinData && stdinData.length > 0) child.stdin.write(stdinData);
      if (!keepStdin) child.stdin.end();
    }
    started = true;
    afterMainExit();
    if (pendingStreams <= 0) finalize();
  }

  /** A command that cannot run (ENOENT, EACCES…) ends like in a shell (127/126); resource errors throw. */
  private cannotRun(proc: ManagedProcess, err: NodeJS.ErrnoException): void {
    const exitCode = SPAWN_EXIT_CODES[err.code ?? ''];
    if (exitCode === undefined) throw this.spawnError(err);
    if (proc.kind !== 'exec') this.procs.set(proc.id, proc);
    proc.pushOutput('stderr', Buffer.from(`sandboxd: cannot run ${proc.argv[0]}: ${err.code}\n`));
    proc.finish(exitCode, null);
  }

  private spawnError(err: unknown): SandboxdError {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'ENOMEM' || code === 'EMFILE' || code === 'ENFILE') {
      return new SandboxdError(
        'resource_exhausted',
        `cannot start process: ${code}; the sandbox is out of ${code === 'EMFILE' || code === 'ENFILE' ? 'file descriptors' : 'processes or memory'}, retry shortly`,
        {
          details: { errno: code },
          cause: err,
        },
      );
    }
    if (code === 'E2BIG') {
      // The caller's argv or environment is over the kernel's limits (the router checks them first).
      return new SandboxdError(
        'too_large',
        'cannot start process: the arguments or environment are too large (E2BIG: at most 131071 bytes per argument, about 2 MiB in total); pass large input through stdin',
        { cause: err },
      );
    }
    return new SandboxdError('internal', `cannot start process: ${code ?? String(err)}`, { cause: err });
  }

  private sweep(): void {
    const now = Date.now();
    const finished: ManagedProcess[] = [];
    for (const p of this.procs.values()) {
      if (p.running || p.kind === 'onstart' || p.finishedAtMs === null) continue;
      if (now - p.finishedAtMs > this.opts.finishedTtlMs && p.attachments === 0) this.procs.delete(p.id);
      else finished.push(p);
    }
    if (finished.length > this.opts.maxFinished) {
      finished.sort((a, b) => (a.finishedAtMs ?? 0) - (b.finishedAtMs ?? 0));
      for (const p of finished.slice(0, finished.length - this.opts.maxFinished)) this.procs.delete(p.id);
    }
  }
}
