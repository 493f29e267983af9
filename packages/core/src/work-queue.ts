/**
 * A work queue with controller-runtime's guarantees: a key is processed by one worker at a time, a key
 * added while queued is queued once, a key added while processing runs again afterwards, and delayed
 * adds keep the earliest deadline.
 */
export interface WorkQueueOpts {
  /** Keys processed at once. @default 4 */
  concurrency?: number;
  process: (key: string) => Promise<{ requeueAfterMs?: number } | void>;
  onError?: (key: string, err: unknown) => void;
}

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  /** Resolves when nothing is queued, processing or waiting on a delay shorter than `horizonMs`. */
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly length: number;
}

export function createWorkQueue(opts: WorkQueueOpts): WorkQueue {
  const concurrency = opts.concurrency ?? 4;
  const queue: string[] = [];
  const queued = new Set<string>();
  const processing = new Set<string>();
  const dirty = new Set<string>();
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  const idleWaiters: Array<() => void> = [];
  let stopped = false;
  const inflight = new Set<Promise<void>>();

  const checkIdle = () => {
    if (queue.length === 0 && processing.size === 0) {
      for (const w of idleWaiters.splice(0)) w();
    }
  };

  const pump = () => {
    while (!stopped && processing.size < concurrency && queue.length > 0) {
      const key = queue.shift()!;
      queued.delete(key);
      processing.add(key);
      const p = (async () => {
        try {
          const result = await opts.process(key);
          if (result?.requeueAfterMs !== undefined) addAfter(key, result.requeueAfterMs);
        } catch (err) {
          opts.onError?.(key, err);
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
