import { afterEach, describe, expect, it, vi } from 'vitest';

import { StandbyPool, standbyMessage } from './standby.ts';

interface Fake {
  id: number;
  ready: boolean;
  gone: () => void;
}

/** A pool over fakes; `failNext` makes the next creates fail (no pids). */
function pool(size: number) {
  let next = 0;
  let failing = 0;
  const made: Fake[] = [];
  const discarded: Fake[] = [];
  const p = new StandbyPool<Fake>({
    size,
    create: (onGone) => {
      if (failing > 0) {
        failing--;
        return undefined;
      }
      const f = { id: next++, ready: true, gone: onGone };
      made.push(f);
      return f;
    },
    discard: (f) => discarded.push(f),
    isReady: (f) => f.ready,
    retryMs: 1000,
  });
  return { p, made, discarded, failNext: (n: number) => (failing = n) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('StandbyPool', () => {
  it('fills up to its size and replaces what is taken at once', () => {
    const { p, made } = pool(2);
    p.fill();
    expect(p.count).toBe(2);
    expect(p.take()?.id).toBe(0);
    expect(p.count).toBe(2); // replaced
    expect(made.map((f) => f.id)).toEqual([0, 1, 2]);
  });

  it('leaves the replacement to the caller when asked to (warm reapers refill after the hand-over)', () => {
    const { p, made } = pool(1);
    p.fill();
    expect(p.take({ refill: false })?.id).toBe(0);
    expect(p.count).toBe(0);
    expect(made).toHaveLength(1);
    p.fill();
    expect(p.count).toBe(1);
    expect(made.map((f) => f.id)).toEqual([0, 1]);
  });

  it('skips standbys that are not ready yet', () => {
    const { p, made } = pool(2);
    p.fill();
    made[0]!.ready = false;
    expect(p.take()?.id).toBe(1);
    made[0]!.ready = false;
    made[2]!.ready = false;
    expect(p.take()).toBeUndefined();
  });

  it('retries later, not in a loop, when a standby cannot be made or is killed', () => {
    vi.useFakeTimers();
    const { p, made, failNext } = pool(1);
    failNext(1);
    p.fill();
    expect(p.count).toBe(0);
    vi.advanceTimersByTime(999);
    expect(p.count).toBe(0);
    vi.advanceTimersByTime(1);
    expect(p.count).toBe(1);
    // Killed from inside the sandbox: gone from the pool, made again only after the delay.
    made[0]!.gone();
    expect(p.count).toBe(0);
    expect(made).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(p.count).toBe(1);
    expect(made).toHaveLength(2);
  });

  it('ignores the end of a standby it handed out, and discards the rest on close', () => {
    const { p, made, discarded } = pool(2);
    p.fill();
    const taken = p.take()!;
    taken.gone(); // its command ended: the user's business, not the pool's
    expect(p.count).toBe(2);
    p.close();
    expect(discarded.map((f) => f.id).sort()).toEqual([1, 2]);
    p.fill();
    expect(p.count).toBe(0);
    expect(made).toHaveLength(3);
  });
});

describe('standbyMessage', () => {
  it('is cwd, argc, argv, envc and env, each ended by NUL', () => {
    const fields = ['/w', '3', 'sh', '-c', '', '2', 'A=1', 'B=x=y'];
    expect(standbyMessage(['sh', '-c', ''], '/w', { A: '1', B: 'x=y' }).toString()).toBe(
      fields.map((f) => `${f}\0`).join(''),
    );
  });
});
