import type { HttpClient, Query } from './http.ts';
import { encodePath } from './http.ts';
import { execEvent, resumableEvents } from './streams.ts';
import type { CallOpts, ExecStreamEvent, ProcessOutputOpts, StartProcessOpts } from './types.ts';
import type { ProcessInfo } from '@agenttier/contract';

/**
 * Background processes of one sandbox (`sandbox.processes`). They run inside the sandbox's daemon
 * independently of any connection: start one, walk away, read its output later (the last 1 MiB is
 * kept for replay), signal or kill it.
 */
export class SandboxProcesses {
  /** @internal */
  constructor(
    private readonly http: HttpClient,
    private readonly basePath: string,
    private readonly query: () => Query,
  ) {}

  private path(id?: string, rest = ''): string {
    return `${this.basePath}/processes${id === undefined ? '' : `/${encodePath(id)}`}${rest}`;
  }

  /**
   * Starts a command in the background and returns at once. A string runs through `/bin/sh -c`, an
   * array as argv.
   * @example
   * ```ts
   * const p = await sandbox.processes.start('python3 -m http.server 8000', { name: 'web' });
   * console.log(p.id, p.pid);
   * ```
   */
  async start(command: string | string[], opts: StartProcessOpts = {}): Promise<ProcessInfo> {
    if (Array.isArray(command) ? command.length === 0 : command === '') {
      throw new TypeError('processes.start needs a command: a shell string or a non-empty argv array');
    }
    return this.http.json<ProcessInfo>({
      method: 'POST',
      path: this.path(),
      query: this.query(),
      json: {
        command,
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.timeoutSec !== undefined ? { timeout: opts.timeoutSec } : {}),
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      },
      signal: opts.signal,
    });
  }

  /**
   * Lists processes: running ones and recently finished ones.
   * @example
   * ```ts
   * for (const p of await sandbox.processes.list()) console.log(p.id, p.state, p.command.join(' '));
   * ```
   */
  async list(opts: CallOpts = {}): Promise<ProcessInfo[]> {
    const res = await this.http.json<{ processes?: ProcessInfo[] | null }>({
      method: 'GET',
      path: this.path(),
      query: this.query(),
      signal: opts.signal,
    });
    return res?.processes ?? [];
  }

  /**
   * One process; NotFoundError when it is unknown (or finished long ago).
   * @example
   * ```ts
   * const p = await sandbox.processes.get(id);
   * if (p.state === 'exited') console.log('exit code', p.exitCode);
   * ```
   */
  async get(id: string, opts: CallOpts = {}): Promise<ProcessInfo> {
    return this.http.json<ProcessInfo>({
      method: 'GET',
      path: this.path(id),
      query: this.query(),
      signal: opts.signal,
    });
  }

  /**
   * Streams a process's output: what is buffered from `fromOffset` on, then live output until it
   * exits (the last event is `exit`). Leaving the loop detaches; the process keeps running. When the
   * connection drops the stream resumes at the last offset seen, so no byte is repeated or lost.
   * @example
   * ```ts
   * for await (const ev of sandbox.processes.output(id)) {
   *   if (ev.type === 'stdout') process.stdout.write(ev.data);
   * }
   * ```
   */
  async *output(id: string, opts: ProcessOutputOpts = {}): AsyncGenerator<ExecStreamEvent> {
    let started = false;
    const events = resumableEvents(
      async (lastEventId) =>
        (
          await this.http.openEvents({
            method: 'GET',
            path: this.path(id, '/output'),
            query: this.query(),
            headers: { 'Last-Event-ID': lastEventId ?? String(opts.fromOffset ?? 0) },
            signal: opts.signal,
          })
        ).events,
      (ev) => ev.event === 'exit',
      {
        what: `the output stream of process ${id}`,
        signal: opts.signal,
        ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
      },
    );
    for await (const ev of events) {
      const out = execEvent(ev, `output stream of process ${id} failed`);
      if (!out) continue;
      if (out.type === 'start') {
        if (started) continue; // a resumed stream starts again; the caller saw one start
        started = true;
      }
      yield out;
    }
  }

  /**
   * Sends a signal (`TERM`, `SIGINT`, `HUP`, …) to the process group.
   * @example
   * ```ts
   * await sandbox.processes.signal(id, 'SIGTERM');
   * ```
   */
  async signal(id: string, signal: string, opts: CallOpts = {}): Promise<ProcessInfo> {
    return this.http.json<ProcessInfo>({
      method: 'POST',
      path: this.path(id, '/signal'),
      query: this.query(),
      json: { signal },
      signal: opts.signal,
    });
  }

  /**
   * Kills the process group at once (SIGKILL) and returns its final state.
   * @example
   * ```ts
   * await sandbox.processes.kill(id);
   * ```
   */
  async kill(id: string, opts: CallOpts = {}): Promise<ProcessInfo> {
    return this.http.json<ProcessInfo>({
      method: 'DELETE',
      path: this.path(id),
      query: this.query(),
      signal: opts.signal,
    });
  }
}
