/**
 * One agent run as the Agent tab follows it. Runs are started detached and then followed with
 * `attach` (SSE, replayed from the first event), so leaving the page never cancels a run and the same
 * code re-attaches to a run started earlier, here or by another client. Cancel is explicit.
 */
import type { InvokeEvent, Sandbox } from '@agenttier/sdk';
import { adviseError, type ErrorAdvice } from './error-advice.ts';
import { LogBuffer } from './log-buffer.ts';

export type InvokeRunState =
  | { kind: 'starting' }
  | { kind: 'running'; invokeId: string }
  | { kind: 'finished'; invokeId: string; exitCode: number; durationMs: number; reason: string }
  /** Following the stream failed; the run itself may still go on (re-attach to see). */
  | { kind: 'failed'; invokeId?: string; error: ErrorAdvice };

type Agent = Pick<Sandbox['agent'], 'invokeDetached' | 'attach' | 'cancel'>;

export class InvokeRun {
  readonly output = new LogBuffer();
  private current: InvokeRunState = { kind: 'starting' };
  private readonly listeners = new Set<(state: InvokeRunState) => void>();
  private readonly abort = new AbortController();
  private lastEventId: number | undefined;

  private constructor(private readonly agent: Agent) {}

  /** Starts a run with `input` on the entrypoint's stdin and follows it. */
  static start(agent: Agent, opts: { input: string; timeout?: string }): InvokeRun {
    const run = new InvokeRun(agent);
    void run.begin(opts);
    return run;
  }

  /** Follows a run that already exists (running or finished), replaying its output. */
  static attach(agent: Agent, invokeId: string): InvokeRun {
    const run = new InvokeRun(agent);
    run.set({ kind: 'running', invokeId });
    void run.follow(invokeId);
    return run;
  }

  get state(): InvokeRunState {
    return this.current;
  }

  get invokeId(): string | undefined {
    return 'invokeId' in this.current ? this.current.invokeId : undefined;
  }

  subscribe(fn: (state: InvokeRunState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(state: InvokeRunState): void {
    this.current = state;
    for (const fn of this.listeners) fn(state);
  }

  private async begin(opts: { input: string; timeout?: string }): Promise<void> {
    let invokeId: string;
    try {
      invokeId = await this.agent.invokeDetached({
        input: opts.input,
        ...(opts.timeout ? { timeout: opts.timeout } : {}),
        signal: this.abort.signal,
      });
    } catch (err) {
      if (!this.abort.signal.aborted) this.set({ kind: 'failed', error: adviseError(err) });
      return;
    }
    this.set({ kind: 'running', invokeId });
    await this.follow(invokeId);
  }

  private async follow(invokeId: string): Promise<void> {
    try {
      for await (const ev of this.agent.attach(invokeId, {
        signal: this.abort.signal,
        ...(this.lastEventId !== undefined ? { lastEventId: this.lastEventId } : {}),
      })) {
        this.onEvent(invokeId, ev);
        if (ev.type === 'exit') return;
      }
    } catch (err) {
      if (!this.abort.signal.aborted) this.set({ kind: 'failed', invokeId, error: adviseError(err) });
    }
  }

  private onEvent(invokeId: string, ev: InvokeEvent): void {
    if (ev.eventId !== undefined) this.lastEventId = ev.eventId;
    if (ev.type === 'log') {
      this.output.append(`${ev.stream === 'stderr' ? '[stderr] ' : ''}${ev.data}\n`);
      this.set({ kind: 'running', invokeId });
    } else if (ev.type === 'exit') {
      this.set({
        kind: 'finished',
        invokeId,
        exitCode: ev.exitCode,
        durationMs: ev.durationMs,
        reason: ev.reason,
      });
    }
  }

  /** Asks the server to stop the run; its stream then ends with reason `canceled`. */
  async cancel(): Promise<void> {
    const id = this.invokeId;
    if (id && this.current.kind === 'running') await this.agent.cancel(id);
  }

  /** Stops following (the run goes on in the sandbox). */
  detach(): void {
    this.abort.abort();
    this.listeners.clear();
  }
}
