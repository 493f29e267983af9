import type { ReconcileResult } from './reconcile-result.ts';

/** One run of `process` for one key; its id goes on every log line of the run (and of its retry). */
export interface Pass {
  readonly reconcileId: string;
}

export interface WorkQueueOpts {
  /** Keys processed at once. @default 4 */
  concurrency?: number;
  process: (key: string, pass: Pass) => Promise<ReconcileResult>;
  /** Told about each throw, with the delay before the key's next try and the pass that threw. */
  onError?: (key: string, err: unknown, retryInMs: number, pass: Pass) => void;
  /** First retry delay after a throw. @default 200 */
  failureBaseMs?: number;
  /** Longest retry delay after repeated throws. @default 30000 */
  failureMaxMs?: number;
}

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  /**
   * Resolves when nothing is queued or processing. Keys waiting on a delay (a requeue after N ms, a
   * failure backoff) do not count: a quiet queue with timers pending is idle.
   */
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly length: number;
}

/**
 * A work queue with controller-runtime's guarantees: a key is processed by one worker at a time, a key
 * added while queued is queued once, a key added while processing runs again afterwards, and delayed
 * adds keep the earliest deadline.
 *
 * Whatever `process` throws is retried: the key comes back after a per-key exponential backoff
 * (`failureBaseMs` doubling up to `failureMaxMs`), so a transient failure anywhere in a pass (a store
 * read before the reconciler's own error handling, a bug) never leaves the key waiting for the next
 * event or resync. A pass that returns resets its key's backoff. An `add` (a new event) runs the key at
 * once even while it backs off.
 */
export function createWorkQueue(opts: WorkQueueOpts): WorkQueue {
  const concurrency = opts.concurrency ?? 4;
  const failureBaseMs = opts.failureBaseMs ?? 200;
  const failureMaxMs = opts.failureMaxMs ?? 30_000;
  const queue: string[] = [];
  const queued = new Set<string>();
  const processing = new Set<string>();
  const dirty = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  const idleWaiters: Array<() => void> = [];
  let stopped = false;
  const inflight = new Set<Promise<void>>();
  let passes = 0;

  const checkIdle = () => {
    if (queue.length === 0 && processing.size === 0) {
      for (const w of idleWaiters.splice(0)) w();
    }
  };

  const retryDelayMs = (key: string): number => {
    const n = (failures.get(key) ?? 0) + 1;
    failures.set(key, n);
    return Math.min(failureBaseMs * 2 ** Math.min(n - 1, 30), failureMaxMs);
  };

  const pump = () => {
    while (!stopped && processing.size < concurrency && queue.length > 0) {
      const key = queue.shift()!;
      queued.delete(key);
      processing.add(key);
      const pass: Pass = { reconcileId: `r${++passes}` };
      const p = (async () => {
        try {
          const result = await opts.process(key, pass);
          failures.delete(key);
          if (result.requeue === 'now') dirty.add(key);
          else if (result.requeue === 'after') addAfter(key, result.delayMs);
        } catch (err) {
          const delayMs = retryDelayMs(key);
          opts.onError?.(key, err, delayMs, pass);
          addAfter(key, delayMs);
        } finally {
          processing.delete(key);
          if (dirty.delete(key)) add(key);
          pump();
          checkIdle();
        }
      })();
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
  };

  const add = (key: string) => {
    if (stopped) return;
    const t = timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      timers.delete(key);
    }
    if (processing.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    queued.add(key);
    queue.push(key);
    pump();
  };

  const addAfter = (key: string, delayMs: number) => {
    if (stopped) return;
    if (delayMs <= 0) return add(key);
    const at = Date.now() + delayMs;
    const existing = timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      timers.delete(key);
      add(key);
    }, delayMs);
    timer.unref?.();
    timers.set(key, { at, timer });
  };

  return {
    add,
    addAfter,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      }),
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t.timer);
      timers.clear();
      await Promise.allSettled([...inflight]);
    },
    get length() {
      return queue.length;
    },
  };
}
