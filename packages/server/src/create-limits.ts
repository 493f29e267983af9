import { PlatformError } from '@agenttier/contract';

export interface CreateLimitOpts {
  /** Sandboxes that may exist at once on this install (any phase, stopped ones included). 0 = no cap. */
  maxSandboxes: number;
  /** Sustained creates per second per caller; 0 turns the rate limit off. */
  createsPerSecond: number;
  /** Creates a caller may send back to back before the sustained rate applies. */
  createBurst: number;
  /** Callers whose buckets are remembered; the least recently seen are forgotten first. @default 10000 */
  maxTrackedCallers?: number;
  /** Injectable clock for tests. @default Date.now */
  nowMs?: () => number;
}

/** Defaults of `agenttier up`: generous for a person or an agent, far below what stalls a 2-core host. */
export const DEFAULT_CREATE_LIMITS: CreateLimitOpts = {
  maxSandboxes: 100,
  createsPerSecond: 5,
  createBurst: 30,
};

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Token buckets keyed by caller. Memory is bounded by `maxTrackedCallers`: a Map keeps insertion order,
 * each take re-inserts its key, so the first key is always the least recently seen. Forgetting a caller
 * hands it a full bucket, which is what it would have after a long pause anyway.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    opts: { maxKeys?: number; nowMs?: () => number } = {},
  ) {
    this.maxKeys = Math.max(1, opts.maxKeys ?? 10_000);
    this.now = opts.nowMs ?? Date.now;
  }

  get trackedKeys(): number {
    return this.buckets.size;
  }

  /** Milliseconds until `key` has a token, without taking one (0: it has one now). */
  waitMs(key: string): number {
    const prev = this.buckets.get(key);
    if (!prev) return 0;
    const tokens = Math.min(
      this.burst,
      prev.tokens + (Math.max(0, this.now() - prev.atMs) / 1000) * this.perSecond,
    );
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / this.perSecond) * 1000);
  }

  /** Takes one token; returns 0 on success, else the milliseconds until one is available. */
  take(key: string): number {
    const now = this.now();
    const prev = this.buckets.get(key);
    const elapsedSec = prev ? Math.max(0, now - prev.atMs) / 1000 : Infinity;
    const tokens = Math.min(this.burst, (prev?.tokens ?? this.burst) + elapsedSec * this.perSecond);
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (tokens >= 1) {
      this.buckets.set(key, { tokens: tokens - 1, atMs: now });
      return 0;
    }
    this.buckets.set(key, { tokens, atMs: now });
    return Math.ceil(((1 - tokens) / this.perSecond) * 1000);
  }
}

/**
 * The create guard: a per-caller rate limit (429 RATE_LIMITED with Retry-After) and an install-wide cap
 * on sandboxes (403 QUOTA_EXCEEDED). The cap's count and the create run under one lock, so concurrent
 * creates cannot all pass a count taken before any of them landed.
 */
export class CreateLimiter {
  private readonly buckets: TokenBuckets | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: CreateLimitOpts) {
    if (!(opts.createsPerSecond >= 0 && opts.createBurst >= 0 && opts.maxSandboxes >= 0)) {
      throw new Error('create limits must be non-negative numbers');
    }
    this.buckets =
      opts.createsPerSecond > 0
        ? new TokenBuckets(opts.createsPerSecond, Math.max(1, opts.createBurst), {
            ...(opts.maxTrackedCallers !== undefined ? { maxKeys: opts.maxTrackedCallers } : {}),
            ...(opts.nowMs ? { nowMs: opts.nowMs } : {}),
          })
        : undefined;
  }

  /** Throws RATE_LIMITED when `caller` has no token left. */
  checkRate(caller: string): void {
    const waitMs = this.buckets?.take(caller) ?? 0;
    if (waitMs === 0) return;
    const retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
    throw new PlatformError(
      'RATE_LIMITED',
      `too many sandbox creates: at most ${this.opts.createsPerSecond} per second (bursts of ${this.opts.createBurst}); ` +
        `retry in ${retryAfterSec}s`,
      { headers: { 'retry-after': String(retryAfterSec) }, extra: { retryAfter: retryAfterSec } },
    );
  }

  /** Runs `create` when fewer than `maxSandboxes` exist (as `count` tells), one create at a time. */
  async withinCap<T>(count: () => Promise<number>, create: () => Promise<T>): Promise<T> {
    if (this.opts.maxSandboxes === 0) return create();
    const run = this.chain.then(async () => {
      const existing = await count();
      if (existing >= this.opts.maxSandboxes) {
        throw new PlatformError(
          'QUOTA_EXCEEDED',
          `this install already has ${existing} sandboxes (limit ${this.opts.maxSandboxes}); delete sandboxes you ` +
            'no longer need (`agenttier sandbox delete NAME`) or raise the limit (`agenttier up --max-sandboxes N`)',
          { extra: { limit: this.opts.maxSandboxes } },
        );
      }
      return create();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
