import type {
  ExecResponse,
  PatchSandboxRequest,
  SandboxRole,
  SandboxShareView,
  SandboxEvent,
  SandboxUsage,
  SandboxView,
} from '@agenttier/contract';
import { SandboxAgent } from './agent.ts';
import {
  AgentTierError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  SandboxErrorStateError,
  TimeoutError,
} from './errors.ts';
import { SandboxFiles } from './files.ts';
import type { HttpClient, Query } from './http.ts';
import { encodePath } from './http.ts';
import { SandboxPorts } from './ports.ts';
import { SandboxProcesses } from './processes.ts';
import { execEvent } from './streams.ts';
import type { TerminalOpts } from './terminal.ts';
import { TerminalConnection } from './terminal.ts';
import type { CallOpts, ExecOpts, ExecStreamEvent, WaitOpts } from './types.ts';
import { sleep } from './wait.ts';
import { openWebSocket } from './websocket.ts';

export const DEFAULT_WAIT_TIMEOUT_MS = 120_000;
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
/** Added to an exec's own timeout so the HTTP request outlives the command. */
const EXEC_HTTP_GRACE_MS = 30_000;
const DEFAULT_EXEC_TIMEOUT_SEC = 30;

/** Fills what older or partial responses (the seed's create answer) leave out. */
export function normalizeSandboxView(
  raw: Partial<SandboxView> & { name?: string },
  fallbackStatus = 'Creating',
): SandboxView {
  const status = raw.status || raw.phase || fallbackStatus;
  return {
    uid: '',
    namespace: '',
    desiredState: '',
    mode: 'code',
    templateRef: '',
    podName: '',
    pvcName: '',
    message: '',
    createdAt: '',
    labels: {},
    conditions: [],
    resourceVersion: '',
    ...raw,
    sandboxId: raw.sandboxId ?? raw.name ?? '',
    name: raw.name ?? raw.sandboxId ?? '',
    status,
    phase: raw.phase || status,
  } as SandboxView;
}

function execBody(command: string | string[], opts: ExecOpts): Record<string, unknown> {
  if (Array.isArray(command) ? command.length === 0 : command === '') {
    throw new TypeError('exec needs a command: a shell string or a non-empty argv array');
  }
  return {
    command,
    ...(opts.timeoutSec !== undefined ? { timeout: opts.timeoutSec } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
  };
}

/**
 * A handle on one sandbox. It holds the last state seen (`info`, `status`); call `refresh()` to
 * update it. Obtain one from `client.createSandbox()`, `client.getSandbox()` or `client.listSandboxes()`.
 *
 * @example
 * ```ts
 * const sandbox = await client.createSandbox({ name: 'demo', template: 'general-coding' });
 * await sandbox.waitUntilRunning();
 * const { stdout } = await sandbox.exec(['python3', '-c', 'print(6*7)']);
 * ```
 */
export class Sandbox {
  /** The sandbox's files: list, read, write, upload, download, archive. */
  readonly files: SandboxFiles;
  /** Background processes: start, list, get, output, signal, kill. */
  readonly processes: SandboxProcesses;
  /** Forwarded ports and the preview proxy: list, forward, remove, previewUrl, connect. */
  readonly ports: SandboxPorts;
  /** Agent mode: configure, invoke, invokeStream, invokeDetached, attach, cancel, invokes. */
  readonly agent: SandboxAgent;
  private view: SandboxView;

  /** @internal */
  constructor(
    private readonly http: HttpClient,
    view: SandboxView,
    /** Namespace to send as `?namespace=` on per-sandbox calls, when the caller named one. */
    private readonly namespaceHint?: string,
  ) {
    this.view = view;
    const query = () => this.query();
    this.files = new SandboxFiles(http, this.basePath, query);
    this.processes = new SandboxProcesses(http, this.basePath, query);
    this.ports = new SandboxPorts(
      http,
      () => this.name,
      query,
      (opts) => this.diagnoseUpgrade(opts),
    );
    this.agent = new SandboxAgent(http, this.basePath, query);
  }

  /** The sandbox name (its id in every URL). */
  get name(): string {
    return this.view.name;
  }

  get namespace(): string {
    return this.view.namespace;
  }

  /** The phase last seen: Creating, Running, Stopped, Error or Deleting. */
  get status(): string {
    return this.view.status;
  }

  /** The full object last seen, as the API returned it. */
  get info(): SandboxView {
    return this.view;
  }

  private get basePath(): string {
    return `/api/v1/sandboxes/${encodePath(this.view.name)}`;
  }

  /**
   * `?namespace=` for per-sandbox calls: the one the caller named, else the one the server reported,
   * so a handle from a cross-namespace list keeps addressing the right sandbox.
   */
  private query(): Query {
    const namespace = this.namespaceHint || this.view.namespace;
    return namespace ? { namespace } : {};
  }

  toJSON(): SandboxView {
    return this.view;
  }

  /**
   * Fetches the current state.
   * @example
   * ```ts
   * await sandbox.refresh();
   * console.log(sandbox.status, sandbox.info.message);
   * ```
   */
  async refresh(opts: CallOpts = {}): Promise<this> {
    const raw = await this.http.json<SandboxView>({
      method: 'GET',
      path: this.basePath,
      query: this.query(),
      signal: opts.signal,
    });
    this.view = normalizeSandboxView(raw);
    return this;
  }

  /**
   * Polls until the sandbox is Running. Throws SandboxErrorStateError (with the server's message)
   * if it lands in Error, and TimeoutError when `timeoutMs` passes first.
   * @example
   * ```ts
   * await sandbox.waitUntilRunning({ timeoutMs: 300_000, onPhase: (p) => console.log(p) });
   * ```
   */
  async waitUntilRunning(opts: WaitOpts = {}): Promise<this> {
    return this.waitForPhase('Running', opts);
  }

  /**
   * Polls until the sandbox is Stopped (after `stop()`).
   * @example
   * ```ts
   * await sandbox.stop();
   * await sandbox.waitUntilStopped();
   * ```
   */
  async waitUntilStopped(opts: WaitOpts = {}): Promise<this> {
    return this.waitForPhase('Stopped', opts);
  }

  /**
   * Polls until the sandbox no longer exists (after `delete()`).
   * @example
   * ```ts
   * await sandbox.delete();
   * await sandbox.waitUntilDeleted({ timeoutMs: 60_000 });
   * ```
   */
  async waitUntilDeleted(opts: WaitOpts = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    for (;;) {
      try {
        await this.refresh({ signal: opts.signal });
      } catch (err) {
        if (err instanceof NotFoundError) {
          opts.onPhase?.('Deleted', this.view);
          return;
        }
        throw err;
      }
      if (this.status !== last) {
        last = this.status;
        opts.onPhase?.(last, this.view);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.waitTimeout('be deleted', timeoutMs);
      await sleep(Math.min(opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, remaining), opts.signal);
    }
  }

  private async waitForPhase(want: 'Running' | 'Stopped', opts: WaitOpts): Promise<this> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    for (;;) {
      await this.refresh({ signal: opts.signal });
      const phase = this.status;
      if (phase !== last) {
        last = phase;
        opts.onPhase?.(phase, this.view);
      }
      if (phase === want) return this;
      if (phase === 'Error') {
        throw new SandboxErrorStateError(
          `sandbox "${this.name}" is in phase Error: ${this.view.message || 'the server gave no reason'}`,
          {
            code: 'SANDBOX_ERROR_STATE',
            body: this.view,
            hint: 'Inspect it with getSandbox() (CLI: `agenttier sandbox get NAME`), then delete and recreate it',
          },
        );
      }
      if (phase === 'Deleting') {
        throw new AgentTierError(`sandbox "${this.name}" is being deleted; it will not become ${want}`, {
          code: 'INVALID_PHASE',
          body: this.view,
        });
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.waitTimeout(`become ${want}`, timeoutMs);
      await sleep(Math.min(opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, remaining), opts.signal);
    }
  }

  private waitTimeout(goal: string, timeoutMs: number): TimeoutError {
    return new TimeoutError(
      `sandbox "${this.name}" did not ${goal} within ${Math.round(timeoutMs / 1000)}s (last phase: ${this.status || 'unknown'})`,
      {
        code: 'CLIENT_TIMEOUT',
        body: this.view,
        hint: 'Wait longer (timeoutMs), or inspect it with getSandbox() (CLI: `agenttier sandbox get NAME`)',
      },
    );
  }

  /**
   * Runs a command and waits for it. A string runs through `/bin/sh -c`; an array runs as argv
   * without a shell. A non-zero exit code is a normal result, not an error.
   * @example
   * ```ts
   * const r = await sandbox.exec('ls -la /workspace | wc -l', { timeoutSec: 10 });
   * if (r.exitCode !== 0) console.error(r.stderr);
   * ```
   */
  async exec(command: string | string[], opts: ExecOpts = {}): Promise<ExecResponse> {
    const body = execBody(command, opts);
    const res = await this.http.json<ExecResponse>({
      method: 'POST',
      path: `${this.basePath}/exec`,
      query: this.query(),
      json: body,
      signal: opts.signal,
      timeoutMs: Math.max(
        this.http.opts.timeoutMs,
        (opts.timeoutSec ?? DEFAULT_EXEC_TIMEOUT_SEC) * 1000 + EXEC_HTTP_GRACE_MS,
      ),
    });
    return { ...res, stdout: res.stdout ?? '', stderr: res.stderr ?? '', exitCode: res.exitCode ?? -1 };
  }

  /**
   * Runs a command and yields its output as it happens (`POST …/exec/stream`, server-sent events).
   * The last event is `exit`. Breaking out of the loop or aborting `signal` ends the request.
   * @example
   * ```ts
   * for await (const ev of sandbox.execStream(['npm', 'test'])) {
   *   if (ev.type === 'stdout') process.stdout.write(ev.data);
   *   if (ev.type === 'exit') console.log('exit code', ev.exitCode);
   * }
   * ```
   */
  async *execStream(command: string | string[], opts: ExecOpts = {}): AsyncGenerator<ExecStreamEvent> {
    const body = execBody(command, opts);
    for await (const ev of this.http.events({
      method: 'POST',
      path: `${this.basePath}/exec/stream`,
      query: this.query(),
      json: body,
      signal: opts.signal,
    })) {
      const out = execEvent(ev, 'exec stream failed');
      if (!out) continue;
      yield out;
      if (out.type === 'exit') return;
    }
    throw new ConnectionError(`the exec stream of sandbox "${this.name}" ended without an exit event`, {
      code: 'CONNECTION_FAILED',
      hint: 'The connection dropped or the server stopped; check the sandbox with refresh()',
    });
  }

  /**
   * Opens a terminal (`GET /ws/terminal/{name}`, a WebSocket): a shell in a session that outlives the
   * connection. Resolves once connected; throws NotFoundError / ConflictError (not running) like other
   * calls. Reconnects by itself when the connection drops.
   * @example
   * ```ts
   * const term = await sandbox.terminal({ session: 'main', cols: 120, rows: 40 });
   * term.on('output', (text) => process.stdout.write(text));
   * term.write('uname -a\r');
   * term.close(); // detach; the shell keeps running
   * ```
   */
  async terminal(opts: TerminalOpts = {}): Promise<TerminalConnection> {
    const session = opts.session ?? 'main';
    const connection = new TerminalConnection(
      session,
      ({ cols, rows }) =>
        openWebSocket(this.http, {
          path: `/ws/terminal/${encodePath(this.name)}`,
          query: { ...this.query(), session, cols, rows, shell: opts.shell },
          signal: opts.signal,
          what: `the terminal of sandbox "${this.name}"`,
          diagnose: () => this.diagnoseUpgrade(opts),
        }),
      opts,
    );
    return connection.start();
  }

  /**
   * Explains a refused WebSocket upgrade: NotFoundError when the sandbox does not exist, ConflictError
   * when it is not Running; returns when it finds nothing wrong.
   */
  private async diagnoseUpgrade(opts: CallOpts): Promise<void> {
    await this.refresh({ signal: opts.signal });
    if (this.status !== 'Running') {
      throw new ConflictError(`sandbox "${this.name}" is not running (phase ${this.status || 'unknown'})`, {
        code: 'SANDBOX_NOT_RUNNING',
        status: 409,
        body: this.view,
        hint: `Resume it with resume() (CLI: \`agenttier sandbox resume ${this.name}\`)`,
      });
    }
  }

  /**
   * Asks the platform to stop the sandbox (the workspace is kept). Returns at once; use
   * `waitUntilStopped()` to wait. Throws ConflictError when the phase does not allow it.
   * @example
   * ```ts
   * await sandbox.stop();
   * ```
   */
  async stop(opts: CallOpts = {}): Promise<void> {
    await this.http.json({
      method: 'POST',
      path: `${this.basePath}/stop`,
      query: this.query(),
      signal: opts.signal,
    });
  }

  /**
   * Asks the platform to start a stopped sandbox again. Returns at once; use `waitUntilRunning()`.
   * @example
   * ```ts
   * await sandbox.resume();
   * await sandbox.waitUntilRunning();
   * ```
   */
  async resume(opts: CallOpts = {}): Promise<void> {
    await this.http.json({
      method: 'POST',
      path: `${this.basePath}/resume`,
      query: this.query(),
      signal: opts.signal,
    });
  }

  /**
   * Shares the sandbox with another user as `viewer` (status, logs, reading files) or `operator`
   * (also exec, file writes, terminal, invoke, ports, stop/resume; never delete or share). Owners
   * and admins only; sharing again changes the role.
   * @example
   * ```ts
   * await sandbox.share('bob', 'operator');
   * ```
   */
  async share(user: string, role: SandboxRole, opts: CallOpts = {}): Promise<SandboxShareView> {
    return this.http.json<SandboxShareView>({
      method: 'PUT',
      path: `${this.basePath}/shares/${encodeURIComponent(user)}`,
      query: this.query(),
      json: { role },
      signal: opts.signal,
    });
  }

  /** Users the sandbox is shared with, and their roles (owners and admins). */
  async shares(opts: CallOpts = {}): Promise<SandboxShareView[]> {
    const res = await this.http.json<{ shares?: SandboxShareView[] | null }>({
      method: 'GET',
      path: `${this.basePath}/shares`,
      query: this.query(),
      signal: opts.signal,
    });
    return res?.shares ?? [];
  }

  /**
   * What the running sandbox uses now: CPU (cores over the last window, and of its limit), memory,
   * processes and workspace disk, measured inside it (cached by the server for about a second).
   * A section the runtime does not show is `null`, with the reason in `unavailable`. A stopped
   * sandbox is a `ConflictError` (`SANDBOX_NOT_RUNNING`). Viewers may call it.
   * @example
   * ```ts
   * const u = await sandbox.usage();
   * console.log(`${u.cpu?.percent}% CPU, ${u.memory?.bytes} bytes`);
   * ```
   */
  async usage(opts: CallOpts = {}): Promise<SandboxUsage> {
    return this.http.json<SandboxUsage>({
      method: 'GET',
      path: `${this.basePath}/usage`,
      query: this.query(),
      signal: opts.signal,
    });
  }

  /**
   * What happened to the sandbox, Kubernetes-style (type, reason, message, count, first and last
   * time), oldest first: phase changes, its workload and volume created or removed, back-offs.
   * Viewers may call it.
   */
  async events(opts: CallOpts = {}): Promise<SandboxEvent[]> {
    const res = await this.http.json<{ events?: SandboxEvent[] | null }>({
      method: 'GET',
      path: `${this.basePath}/events`,
      query: this.query(),
      signal: opts.signal,
    });
    return res?.events ?? [];
  }

  /** Stops sharing with `user`; their next request is refused. Idempotent. */
  async unshare(user: string, opts: CallOpts = {}): Promise<void> {
    await this.http.json({
      method: 'DELETE',
      path: `${this.basePath}/shares/${encodeURIComponent(user)}`,
      query: this.query(),
      signal: opts.signal,
    });
  }

  /**
   * Deletes the sandbox and its workspace. Returns once the server accepted; the object passes
   * through phase Deleting — use `waitUntilDeleted()` to wait until it is gone.
   * @example
   * ```ts
   * await sandbox.delete();
   * ```
   */
  async delete(opts: CallOpts = {}): Promise<void> {
    await this.http.json({ method: 'DELETE', path: this.basePath, query: this.query(), signal: opts.signal });
  }

  /**
   * Changes a running sandbox (`PATCH`, a JSON merge patch): idle timeout, resources, labels,
   * annotations. Labels and annotations merge key by key; a key set to `null` is removed.
   * @example
   * ```ts
   * await sandbox.update({ idleTimeout: '2h', labels: { team: 'ml', stale: null } });
   * ```
   */
  async update(patch: PatchSandboxRequest, opts: CallOpts = {}): Promise<Record<string, unknown>> {
    const res = await this.http.json<Record<string, unknown>>({
      method: 'PATCH',
      path: this.basePath,
      query: this.query(),
      json: patch,
      signal: opts.signal,
    });
    return res ?? {};
  }
}
