import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type {
  ChildOutcome,
  EffectiveSandbox,
  ObservedSandbox,
  ObservedWorkload,
  OwnedChild,
  Runtime,
} from '@agenttier/core';
import { volumeName, workloadName } from '@agenttier/core';

export type RuntimeOp =
  | 'observe'
  | 'ensureVolume'
  | 'ensureWorkload'
  | 'removeWorkload'
  | 'removeVolume'
  | 'listOwned'
  | 'removeOwned';

/** One call the runtime answered (failed and frozen calls are recorded too). */
export interface RuntimeCall {
  op: RuntimeOp;
  /** The child name the call was about (workload or volume), or '' for listOwned. */
  target: string;
  outcome?: ChildOutcome;
  error?: string;
}

/** A child as the in-memory engine holds it. */
export interface MemoryChild {
  name: string;
  sandboxUid: string;
  sandboxName: string;
  namespace: string;
  /** Times this child was created (a second create means the runtime was not idempotent). */
  generation: number;
}

export interface MemoryWorkload extends MemoryChild {
  state: ObservedWorkload['state'];
  ready: boolean;
  exitCode?: number;
  /** The effective sandbox the workload was last built from. */
  effective?: EffectiveSandbox;
  /** Starts of this workload (create or restart of the same object). */
  starts: number;
}

export type MemoryVolume = MemoryChild;

interface Failure {
  op: RuntimeOp;
  error: unknown;
  remaining: number;
  match?: (target: string) => boolean;
  /** Runs while the failing call is in flight (e.g. a concurrent write by someone else). */
  before?: () => Promise<void>;
}

/** The engine's state: shared by every MemoryRuntime made with `restarted()`, like one Docker daemon. */
interface EngineState {
  workloads: Map<string, MemoryWorkload>;
  volumes: Map<string, MemoryVolume>;
  calls: RuntimeCall[];
  readyOnStart: boolean;
}

export interface MemoryRuntimeOpts {
  /**
   * Whether a started workload is ready at once. With false it stays `running` but not ready until
   * `setReady()`, like a container whose init daemon has not answered yet. @default true
   */
  readyOnStart?: boolean;
}

type SandboxOrName = Pick<Sandbox, 'metadata'> | string;

/**
 * An in-memory `Runtime` with the port's contract: every method is idempotent, children have the
 * deterministic names of `workloadName`/`volumeName` and carry their sandbox's uid, a child left over
 * from an earlier sandbox of the same name is not treated as ours, and `listOwned`/`removeOwned` expose
 * everything for orphan collection.
 *
 * Simulation controls: `crash()` (the workload exits), `vanish()` (the workload is removed behind our
 * back), `setReady()`, `addChild()` (leftovers and orphans), `failOn()` (errors from the engine),
 * `freezeAfter()` (the process dies mid-reconcile) and `restarted()` (a new process on the same engine).
 *
 * @example
 * const runtime = new MemoryRuntime();
 * const controller = createController({ store, runtime, logger: silentLogger });
 * runtime.crash(sandbox, 137);
 */
export class MemoryRuntime implements Runtime {
  private readonly state: EngineState;
  private failures: Failure[] = [];
  private freezeAfterOp: RuntimeOp | undefined;
  private frozenFlag = false;

  constructor(opts: MemoryRuntimeOpts = {}, state?: EngineState) {
    this.state = state ?? {
      workloads: new Map(),
      volumes: new Map(),
      calls: [],
      readyOnStart: opts.readyOnStart ?? true,
    };
  }

  // ---- Runtime ------------------------------------------------------------------------------------

  async observe(sandbox: Sandbox): Promise<ObservedSandbox> {
    return this.run('observe', workloadName(sandbox), () => {
      const out: ObservedSandbox = {};
      const w = this.state.workloads.get(workloadName(sandbox));
      if (w) {
        const ours = w.sandboxUid === (sandbox.metadata.uid ?? '');
        out.workload = {
          name: w.name,
          // Someone else's container under our name is reported exited so ensureWorkload replaces it.
          state: ours ? w.state : 'exited',
          ready: ours && w.state === 'running' && w.ready,
          ...(w.state === 'exited' && w.exitCode !== undefined ? { exitCode: w.exitCode } : {}),
          ...(w.sandboxUid ? { sandboxUid: w.sandboxUid } : {}),
        };
      }
      const v = this.state.volumes.get(volumeName(sandbox));
      if (v) out.volume = { name: v.name, ...(v.sandboxUid ? { sandboxUid: v.sandboxUid } : {}) };
      return out;
    });
  }

  async ensureVolume(sandbox: Sandbox, _effective: EffectiveSandbox): Promise<ChildOutcome> {
    const name = volumeName(sandbox);
    return this.run('ensureVolume', name, () => {
      const existing = this.state.volumes.get(name);
      if (existing) {
        if (existing.sandboxUid !== (sandbox.metadata.uid ?? '')) {
          throw new PlatformError(
            'ALREADY_EXISTS',
            `volume ${name} belongs to another sandbox; it will be collected as an orphan`,
          );
        }
        return 'unchanged';
      }
      this.state.volumes.set(name, { ...owner(sandbox, name), generation: 1 });
      return 'created';
    });
  }

  async ensureWorkload(sandbox: Sandbox, effective: EffectiveSandbox): Promise<ChildOutcome> {
    const name = workloadName(sandbox);
    return this.run('ensureWorkload', name, () => {
      const existing = this.state.workloads.get(name);
      const ours = existing?.sandboxUid === (sandbox.metadata.uid ?? '');
      if (existing && ours && existing.state === 'running') return 'unchanged';
      if (existing && ours && (existing.state === 'created' || existing.state === 'paused')) {
        existing.state = 'running';
        existing.ready = this.state.readyOnStart;
        existing.starts++;
        return 'started';
      }
      // Exited, in another state, or someone else's: replaced by a fresh workload.
      this.state.workloads.set(name, {
        ...owner(sandbox, name),
        generation: (existing?.generation ?? 0) + 1,
        state: 'running',
        ready: this.state.readyOnStart,
        effective,
        starts: 1,
      });
      return 'created';
    });
  }

  async removeWorkload(sandbox: Sandbox): Promise<ChildOutcome> {
    const name = workloadName(sandbox);
    return this.run('removeWorkload', name, () =>
      this.state.workloads.delete(name) ? 'deleted' : 'unchanged',
    );
  }

  async removeVolume(sandbox: Sandbox): Promise<ChildOutcome> {
    const name = volumeName(sandbox);
    return this.run('removeVolume', name, () => (this.state.volumes.delete(name) ? 'deleted' : 'unchanged'));
  }

  async listOwned(): Promise<OwnedChild[]> {
    return this.run('listOwned', '', () => [
      ...[...this.state.workloads.values()].map((w) => child('workload', w)),
      ...[...this.state.volumes.values()].map((v) => child('volume', v)),
    ]);
  }

  async removeOwned(c: OwnedChild): Promise<void> {
    await this.run('removeOwned', c.name, () => {
      if (c.type === 'workload') this.state.workloads.delete(c.name);
      else this.state.volumes.delete(c.name);
    });
  }

  // ---- Inspection ---------------------------------------------------------------------------------

  /** The workload of a sandbox (or of a workload name), if it exists. */
  workload(of: SandboxOrName): MemoryWorkload | undefined {
    return this.state.workloads.get(typeof of === 'string' ? of : workloadName(of));
  }

  /** The volume of a sandbox (or of a volume name), if it exists. */
  volume(of: SandboxOrName): MemoryVolume | undefined {
    return this.state.volumes.get(typeof of === 'string' ? of : volumeName(of));
  }

  /** Every child, as `listOwned` would report them (without recording a call). */
  children(): OwnedChild[] {
    return [
      ...[...this.state.workloads.values()].map((w) => child('workload', w)),
      ...[...this.state.volumes.values()].map((v) => child('volume', v)),
    ];
  }

  /** Every call answered so far, oldest first (shared with `restarted()` runtimes). */
  get calls(): readonly RuntimeCall[] {
    return this.state.calls;
  }

  /** Calls of one operation, optionally only those that changed something. */
  callsOf(op: RuntimeOp, outcome?: ChildOutcome): RuntimeCall[] {
    return this.state.calls.filter((c) => c.op === op && (outcome === undefined || c.outcome === outcome));
  }

  clearCalls(): void {
    this.state.calls.length = 0;
  }

  // ---- Simulation ---------------------------------------------------------------------------------

  /** The workload exits by itself (OOM kill, `kill 1`, a crash): it stays, exited, until replaced. */
  crash(of: SandboxOrName, exitCode = 137): void {
    const w = this.mustWorkload(of);
    w.state = 'exited';
    w.ready = false;
    w.exitCode = exitCode;
  }

  /** The workload disappears behind the controller's back (`docker rm -f`, an engine reset). */
  vanish(of: SandboxOrName): void {
    this.state.workloads.delete(typeof of === 'string' ? of : workloadName(of));
  }

  /** Flips readiness of a running workload (the init daemon starts or stops answering). */
  setReady(of: SandboxOrName, ready = true): void {
    this.mustWorkload(of).ready = ready;
  }

  /** Puts a child into the engine directly: leftovers from earlier sandboxes, or orphans. */
  addChild(
    type: 'workload' | 'volume',
    c: { name: string; sandboxUid: string; sandboxName?: string; namespace?: string },
    state: Partial<Pick<MemoryWorkload, 'state' | 'ready' | 'exitCode'>> = {},
  ): void {
    const base: MemoryChild = {
      name: c.name,
      sandboxUid: c.sandboxUid,
      sandboxName: c.sandboxName ?? '',
      namespace: c.namespace ?? 'default',
      generation: 1,
    };
    if (type === 'volume') this.state.volumes.set(c.name, base);
    else this.state.workloads.set(c.name, { ...base, state: 'running', ready: true, starts: 1, ...state });
  }

  /**
   * Makes `op` fail with `error` (a PlatformError RUNTIME_FAILED when a string is given) for the next
   * `times` calls (every call by default), optionally only for one child name.
   */
  failOn(
    op: RuntimeOp,
    error: unknown = 'injected failure',
    opts: { times?: number; target?: string; before?: () => Promise<void> } = {},
  ): void {
    this.failures.push({
      op,
      error: typeof error === 'string' ? new PlatformError('RUNTIME_FAILED', error) : error,
      remaining: opts.times ?? Number.POSITIVE_INFINITY,
      ...(opts.target !== undefined ? { match: (t: string) => t === opts.target } : {}),
      ...(opts.before ? { before: opts.before } : {}),
    });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /**
   * Simulates the process dying right after `op` completes: from then on every call on this instance
   * never settles (and has no effect). The engine keeps what was done. Use `restarted()` for the next
   * process.
   */
  freezeAfter(op: RuntimeOp): void {
    this.freezeAfterOp = op;
  }

  get frozen(): boolean {
    return this.frozenFlag;
  }

  /** A fresh runtime on the same engine state, without the failures or freeze of this one. */
  restarted(): MemoryRuntime {
    return new MemoryRuntime({}, this.state);
  }

  // ---- internals ----------------------------------------------------------------------------------

  private mustWorkload(of: SandboxOrName): MemoryWorkload {
    const w = this.workload(of);
    if (!w)
      throw new Error(`no workload ${typeof of === 'string' ? of : workloadName(of)} in the memory runtime`);
    return w;
  }

  private async run<T>(op: RuntimeOp, target: string, fn: () => T): Promise<T> {
    // A real engine answers asynchronously: never complete within the caller's tick.
    await Promise.resolve();
    if (this.frozenFlag) return new Promise<T>(() => {});
    const failure = this.failures.find(
      (f) => f.op === op && f.remaining > 0 && (!f.match || f.match(target)),
    );
    if (failure) {
      failure.remaining--;
      await failure.before?.();
      this.state.calls.push({ op, target, error: String(failure.error) });
      throw failure.error;
    }
    let out: T;
    try {
      out = fn();
    } catch (err) {
      this.state.calls.push({ op, target, error: String(err) });
      throw err;
    }
    this.state.calls.push({ op, target, ...(isOutcome(out) ? { outcome: out } : {}) });
    if (this.freezeAfterOp === op) this.frozenFlag = true;
    return out;
  }
}

function owner(sandbox: Pick<Sandbox, 'metadata'>, name: string): Omit<MemoryChild, 'generation'> {
  return {
    name,
    sandboxUid: sandbox.metadata.uid ?? '',
    sandboxName: sandbox.metadata.name,
    namespace: sandbox.metadata.namespace ?? 'default',
  };
}

function child(type: OwnedChild['type'], c: MemoryChild): OwnedChild {
  return { type, name: c.name, sandboxUid: c.sandboxUid, sandboxName: c.sandboxName, namespace: c.namespace };
}

function isOutcome(v: unknown): v is ChildOutcome {
  return v === 'created' || v === 'started' || v === 'unchanged' || v === 'deleted';
}
