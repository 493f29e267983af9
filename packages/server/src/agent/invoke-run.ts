import { EventEmitter } from 'node:events';
import type { AgentRecordStore, InvokeReason, InvokeRecord, RecordedEvent } from '@agenttier/core';
import type { ProcessAttachment, SandboxdClient } from '@agenttier/sandboxd';
import { attachErrorFromDaemon, exitFromDaemon } from '../data-plane/daemon-answers.ts';
import { LineSplitter } from './line-splitter.ts';

/** Events kept for replay per invocation; past it, lines still stream live but are not replayable. */
export const MAX_RECORDED_EVENTS = 50_000;
/**
 * Output an agent prints is the sandbox's to choose: 50,000 lines of 64 KiB would be 3 GiB held in
 * the router (and written to the store). Log events are recorded (in memory for replay while the run
 * is live, and in the store) up to this many bytes; later ones are still sent live.
 */
export const MAX_RECORDED_BYTES = 32 * 1024 * 1024;
const TAIL_BYTES = 16 * 1024;
const FLUSH_MS = 100;

export interface InvokeRunOpts {
  record: InvokeRecord;
  client: SandboxdClient;
  processId: string;
  store: AgentRecordStore;
  onFinish?: (run: InvokeRun) => void;
}

/**
 * One running invocation, owned by the router rather than by any HTTP response: it stays attached to
 * the process inside the sandbox, numbers every event, records them for replay, and fans them out to
 * whoever is watching (the original caller, or clients re-attaching with Last-Event-ID).
 */
export class InvokeRun extends EventEmitter<{ event: [RecordedEvent]; finished: [InvokeRecord] }> {
  readonly record: InvokeRecord;
  private readonly events: RecordedEvent[] = [];
  private pending: RecordedEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private tail = '';
  private recordedBytes = 0;
  private cancelReason: InvokeReason | undefined;
  private attachment: ProcessAttachment | undefined;
  readonly finished: Promise<InvokeRecord>;
  private resolveFinished!: (r: InvokeRecord) => void;
  private readonly startedMs: number;

  constructor(private readonly opts: InvokeRunOpts) {
    super();
    this.setMaxListeners(0);
    this.record = opts.record;
    this.startedMs = Date.parse(opts.record.startedAt);
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  get id(): string {
    return this.record.invokeId;
  }

  get isRunning(): boolean {
    return this.record.state === 'running';
  }

  /** Bytes of event data held for replay (bounded by MAX_RECORDED_BYTES plus the few non-log events). */
  get recordedDataBytes(): number {
    return this.recordedBytes;
  }

  /** Events with id > afterId still held in memory (all of them while the run is live). */
  eventsAfter(afterId: number): RecordedEvent[] {
    return this.events.filter((e) => e.id > afterId);
  }

  private push(event: string, data: unknown): void {
    const id = this.record.eventCount + 1;
    const recorded: RecordedEvent = { id, event, data: JSON.stringify(data) };
    const fits = id <= MAX_RECORDED_EVENTS && this.recordedBytes + recorded.data.length <= MAX_RECORDED_BYTES;
    if (event !== 'log' || fits) {
      this.recordedBytes += recorded.data.length;
      this.record.eventCount = id;
      this.events.push(recorded);
      this.pending.push(recorded);
      this.scheduleFlush();
    }
    this.emit('event', recorded);
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => void this.flush(), FLUSH_MS);
    this.flushTimer.unref();
  }

  private async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.pending;
    this.pending = [];
    await this.opts.store.appendEvents(this.id, batch).catch(() => undefined);
  }

  private appendTail(text: string): void {
    this.tail = (this.tail + text + '\n').slice(-TAIL_BYTES);
  }

  /** Starts streaming; resolves once attached so the caller can answer with `start`. */
  async start(): Promise<void> {
    this.push('start', { invokeId: this.id, startedAt: this.startedMs });
    const splitters = {
      stdout: new LineSplitter((line) => {
        this.appendTail(line);
        this.push('log', { stream: 'stdout', data: line });
      }),
      stderr: new LineSplitter((line) => {
        this.appendTail(line);
        this.push('log', { stream: 'stderr', data: line });
      }),
    };
    // Attach without killOnDetach: the router decides when a run ends, not its TCP connection.
    this.attachment = await this.opts.client.attach(this.opts.processId, { fromOffset: 0 });
    void (async () => {
      let exit: { exitCode: number; timedOut: boolean } | undefined;
      let failure: string | undefined;
      try {
        for await (const ev of this.attachment!) {
          if (ev.type === 'output') {
            if (ev.stream === 'stdout') this.record.bytesStdout += ev.data.length;
            else this.record.bytesStderr += ev.data.length;
            splitters[ev.stream].push(ev.data);
          } else if (ev.type === 'exit') {
            // A daemon's exit event out of shape throws: the run ends as an error, not a record of its values.
            exit = exitFromDaemon(ev);
            break;
          } else if (ev.type === 'error') {
            failure = attachErrorFromDaemon(ev).message;
          }
        }
      } catch (err) {
        failure = (err as Error).message;
      }
      splitters.stdout.flush();
      splitters.stderr.flush();
      this.attachment?.close();
      await this.finish(exit, failure);
    })();
  }

  /** Ends the run early; the process group inside the sandbox is killed. */
  async cancel(reason: InvokeReason = 'canceled'): Promise<void> {
    if (!this.isRunning || this.cancelReason) return;
    this.cancelReason = reason;
    await this.opts.client.killProcess(this.opts.processId, { graceMs: 1000 }).catch(() => undefined);
  }

  private async finish(
    exit: { exitCode: number; timedOut: boolean } | undefined,
    failure: string | undefined,
  ): Promise<void> {
    const durationMs = Date.now() - this.startedMs;
    let reason: InvokeReason;
    let exitCode: number;
    if (this.cancelReason) {
      reason = this.cancelReason;
      exitCode = -1;
    } else if (exit?.timedOut) {
      reason = 'timeout';
      exitCode = -1;
    } else if (exit) {
      reason = 'completed';
      exitCode = exit.exitCode;
    } else {
      reason = 'error';
      exitCode = -1;
    }
    Object.assign(this.record, {
      state: 'finished',
      finishedAt: new Date().toISOString(),
      exitCode,
      reason,
      durationMs,
      outputTail: this.tail,
      ...(reason === 'error' ? { message: failure ?? 'lost the connection to the sandbox' } : {}),
    });
    this.push('exit', {
      invokeId: this.id,
      exitCode,
      durationMs,
      reason,
      ...(reason === 'error' ? { message: this.record.message } : {}),
    });
    await this.flush();
    await this.opts.store.updateInvoke(this.id, this.record).catch(() => undefined);
    await this.opts.client.removeProcess(this.opts.processId).catch(() => undefined);
    this.opts.onFinish?.(this);
    this.emit('finished', this.record);
    this.resolveFinished(this.record);
  }
}
