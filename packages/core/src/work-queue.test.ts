import { afterEach, describe, expect, it, vi } from 'vitest';
import { requeueAfter, requeueNow, requeueWhenChanged } from './reconcile-result.ts';
import { createWorkQueue } from './work-queue.ts';

/** A promise you resolve from outside. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run. */
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** A process function whose calls block until released, recording starts and concurrency. */
function gatedProcess() {
  const gates = new Map<string, Array<() => void>>();
  const started: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const process = async (key: string) => {
    started.push(key);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const d = deferred();
    gates.set(key, [...(gates.get(key) ?? []), d.resolve]);
    await d.promise;
    inFlight--;
    return requeueWhenChanged;
  };
  const release = async (key: string) => {
    const waiting = gates.get(key) ?? [];
    const next = waiting.shift();
    if (!next) throw new Error(`${key} is not being processed`);
    next();
    await flush();
  };
  return {
    process,
    release,
    started,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createWorkQueue', () => {
  it('processes an added key', async () => {
    const seen: string[] = [];
    const q = createWorkQueue({ process: async (k) => (seen.push(k), requeueWhenChanged) });
    q.add('a');
    await q.idle();
    expect(seen).toEqual(['a']);
    await q.stop();
  });

  it('queues a key added several times while it waits only once', async () => {
    const g = gatedProcess();
    const q = createWorkQueue({ concurrency: 1, process: g.process });
    q.add('blocker');
    q.add('a');
    q.add('a');
    q.add('a');
    expect(q.length).toBe(1);
    await g.release('blocker');
    await g.release('a');
    await q.idle();
    expect(g.started).toEqual(['blocker', 'a']);
    await q.stop();
  });

  it('never runs one key twice at once, and re-runs it after processing when it was added meanwhile', async () => {
    const g = gatedProcess();
    const q = createWorkQueue({ concurrency: 4, process: g.process });
    q.add('a');
    q.add('a'); // dirty: must not start a second worker on "a"
    q.add('a');
    await flush();
    expect(g.started).toEqual(['a']);
    expect(g.inFlight).toBe(1);
    await g.release('a');
    expect(g.started).toEqual(['a', 'a']); // exactly one re-run for the two adds
    await g.release('a');
    await q.idle();
    expect(g.started).toEqual(['a', 'a']);
    expect(g.maxInFlight).toBe(1);
    await q.stop();
  });

  it('bounds the number of keys processed at once', async () => {
    const g = gatedProcess();
    const q = createWorkQueue({ concurrency: 2, process: g.process });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await flush();
    expect(g.started).toEqual(['a', 'b']);
    expect(q.length).toBe(3);
    await g.release('a');
    expect(g.started).toEqual(['a', 'b', 'c']);
    for (const k of ['b', 'c', 'd', 'e']) await g.release(k);
    await q.idle();
    expect(g.started).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(g.maxInFlight).toBe(2);
    await q.stop();
  });

  it('defaults to a concurrency of 4', async () => {
    const g = gatedProcess();
    const q = createWorkQueue({ process: g.process });
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) q.add(k);
    await flush();
    expect(g.inFlight).toBe(4);
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) await g.release(k);
    await q.idle();
    await q.stop();
  });

  it('re-adds a key after the delay of requeueAfter', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const q = createWorkQueue({
      process: async () => (++runs < 3 ? requeueAfter(1000) : requeueWhenChanged),
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(3);
    await q.stop();
  });

  it('runs a key that asks for requeueNow again right away, and leaves one that asks for whenChanged', async () => {
    let runs = 0;
    const q = createWorkQueue({ process: async () => (++runs < 3 ? requeueNow : requeueWhenChanged) });
    q.add('a');
    await vi.waitFor(() => expect(runs).toBe(3));
    await q.idle();
    expect(runs).toBe(3);
    expect(requeueAfter(0)).toBe(requeueNow);
    await q.stop();
  });

  it('addAfter keeps the earliest deadline', async () => {
    vi.useFakeTimers();
    const seen: number[] = [];
    const q = createWorkQueue({ process: async () => (seen.push(Date.now()), requeueWhenChanged) });
    const t0 = Date.now();
    q.addAfter('a', 1000);
    q.addAfter('a', 100); // earlier: replaces
    q.addAfter('a', 5000); // later: ignored
    await vi.advanceTimersByTimeAsync(99);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual([t0 + 100]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen).toHaveLength(1);
    await q.stop();
  });

  it('add cancels a pending delayed add of the same key', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const q = createWorkQueue({ process: async () => (runs++, requeueWhenChanged) });
    q.addAfter('a', 1000);
    q.add('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(runs).toBe(1);
    await q.stop();
  });

  it('addAfter with a delay of 0 or less adds at once', async () => {
    const seen: string[] = [];
    const q = createWorkQueue({ process: async (k) => (seen.push(k), requeueWhenChanged) });
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    await q.idle();
    expect(seen.sort()).toEqual(['a', 'b']);
    await q.stop();
  });

  it('reports a failing key to onError and keeps going', async () => {
    const errors: Array<[string, unknown]> = [];
    const seen: string[] = [];
    const q = createWorkQueue({
      concurrency: 1,
      process: async (k) => {
        if (k === 'bad') throw new Error('boom');
        seen.push(k);
        return requeueWhenChanged;
      },
      onError: (k, e) => errors.push([k, e]),
    });
    q.add('bad');
    q.add('good');
    await q.idle();
    expect(seen).toEqual(['good']);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[0]).toBe('bad');
    expect(String(errors[0]?.[1])).toMatch(/boom/);
    await q.stop();
  });

  it('idle resolves at once when nothing is queued and after the last key otherwise', async () => {
    const g = gatedProcess();
    const q = createWorkQueue({ process: g.process });
    await q.idle();
    q.add('a');
    let idle = false;
    void q.idle().then(() => (idle = true));
    await flush();
    expect(idle).toBe(false);
    await g.release('a');
    await flush();
    expect(idle).toBe(true);
    await q.stop();
  });

  it('stop waits for keys in flight, drops queued ones and ignores later adds', async () => {
    vi.useFakeTimers();
    const g = gatedProcess();
    const q = createWorkQueue({ concurrency: 1, process: g.process });
    q.add('a');
    q.add('queued');
    q.addAfter('delayed', 100);
    let stopped = false;
    const stopping = q.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false); // "a" is still in flight
    await g.release('a');
    await stopping;
    expect(stopped).toBe(true);
    q.add('late');
    q.addAfter('late2', 10);
    await vi.advanceTimersByTimeAsync(1000);
    expect(g.started).toEqual(['a']);
  });

  it('retries a key whose pass threw, with a per-key backoff that doubles, caps and resets on success', async () => {
    vi.useFakeTimers();
    const runs: Array<[string, number]> = [];
    const delays: number[] = [];
    let failuresLeft = 5;
    const q = createWorkQueue({
      failureBaseMs: 100,
      failureMaxMs: 800,
      process: async (k) => {
        runs.push([k, Date.now()]);
        if (k === 'flaky' && failuresLeft-- > 0) throw new Error('database is locked');
        return requeueWhenChanged;
      },
      onError: (_k, _e, retryInMs) => delays.push(retryInMs),
    });
    const t0 = Date.now();
    q.add('flaky');
    q.add('steady');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(delays).toEqual([100, 200, 400, 800, 800]);
    const flaky = runs.filter(([k]) => k === 'flaky').map(([, at]) => at - t0);
    expect(flaky).toEqual([0, 100, 300, 700, 1500, 2300]);
    expect(runs.filter(([k]) => k === 'steady')).toHaveLength(1); // another key's failures do not touch it

    // Succeeded: the next failure starts from the base delay again.
    failuresLeft = 1;
    q.add('flaky');
    await vi.advanceTimersByTimeAsync(0);
    expect(delays.at(-1)).toBe(100);
    await q.stop();
  });

  it('runs a backing-off key at once when it is added again (a new event)', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const q = createWorkQueue({
      failureBaseMs: 60_000,
      process: async () => {
        if (++runs === 1) throw new Error('transient');
        return requeueWhenChanged;
      },
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    q.add('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(runs).toBe(2); // the pending retry was replaced, not run as well
    await q.stop();
  });
});
