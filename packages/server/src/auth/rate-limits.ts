import { PlatformError } from '@agenttier/contract';
import { TokenBuckets } from '../create-limits.ts';
import type { Identity } from '../context.ts';
import type { RateLimitClass } from './access-rules.ts';

/** One token bucket: a sustained rate and how many may come back to back. */
export interface RateBucketOpts {
  perSecond: number;
  burst: number;
}

/**
 * Per-identity rate limits of the expensive calls (docs/auth.md): each route names its class in the
 * access table (`limit`), each identity has one bucket per class.
 */
export interface IdentityRateLimitOpts {
  /** `POST /api/v1/sandboxes`. Absent: no limit of this class. */
  create?: RateBucketOpts;
  /** Commands: exec, exec/stream, starting background processes. */
  exec?: RateBucketOpts;
  /** Agent invokes and configures. */
  invoke?: RateBucketOpts;
  /** Admins get this many times the rate and burst; 0 exempts them. @default 0 */
  adminMultiplier?: number;
  /** Identities remembered per class (least recently seen forgotten first: memory stays bounded). @default 10000 */
  maxTrackedIdentities?: number;
  nowMs?: () => number;
}

/** What `agenttier up` and the Kubernetes router use unless configured otherwise. */
export const DEFAULT_IDENTITY_RATE_LIMITS: IdentityRateLimitOpts = {
  create: { perSecond: 1, burst: 20 },
  exec: { perSecond: 20, burst: 200 },
  invoke: { perSecond: 2, burst: 20 },
  adminMultiplier: 0,
};

const CLASSES: readonly RateLimitClass[] = ['create', 'exec', 'invoke'];

function parseBucket(name: string, value: string): RateBucketOpts | undefined {
  if (value === 'off' || value === '0') return undefined;
  const m = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(value.trim());
  if (!m || !(Number(m[1]) > 0) || !(Number(m[2]) >= 1))
    throw new Error(
      `${name} must be RATE/BURST (per second, e.g. 20/200) or off (got ${JSON.stringify(value)})`,
    );
  return { perSecond: Number(m[1]), burst: Number(m[2]) };
}

/**
 * The limits from `AGENTTIER_RATE_LIMIT_CREATE`, `…_EXEC`, `…_INVOKE` (`RATE/BURST` or `off`) and
 * `AGENTTIER_RATE_LIMIT_ADMIN_MULTIPLIER` (0: admins exempt), each falling back to the default.
 */
export function rateLimitsFromEnv(env: Record<string, string | undefined>): IdentityRateLimitOpts {
  const out: IdentityRateLimitOpts = {};
  for (const c of CLASSES) {
    const name = `AGENTTIER_RATE_LIMIT_${c.toUpperCase()}`;
    const v = env[name];
    const bucket = v === undefined || v === '' ? DEFAULT_IDENTITY_RATE_LIMITS[c] : parseBucket(name, v);
    if (bucket) out[c] = bucket;
  }
  const m = env.AGENTTIER_RATE_LIMIT_ADMIN_MULTIPLIER;
  const multiplier = m === undefined || m === '' ? DEFAULT_IDENTITY_RATE_LIMITS.adminMultiplier! : Number(m);
  if (!(Number.isFinite(multiplier) && multiplier >= 0))
    throw new Error(`AGENTTIER_RATE_LIMIT_ADMIN_MULTIPLIER must be a number >= 0 (got ${JSON.stringify(m)})`);
  out.adminMultiplier = multiplier;
  return out;
}

export interface IdentityRateLimiter {
  /** Spends one token of `limit` for `who`; throws 429 RATE_LIMITED with Retry-After when none is left. */
  take(limit: RateLimitClass, who: Identity): void;
}

/** Buckets per class, keyed by user (`sub`): every key and session of one user share them. */
export function createIdentityRateLimiter(opts: IdentityRateLimitOpts): IdentityRateLimiter {
  const multiplier = opts.adminMultiplier ?? 0;
  const bucketOpts = {
    maxKeys: opts.maxTrackedIdentities ?? 10_000,
    ...(opts.nowMs ? { nowMs: opts.nowMs } : {}),
  };
  const make = (b: RateBucketOpts | undefined, scale: number) =>
    b && scale > 0
      ? new TokenBuckets(b.perSecond * scale, Math.max(1, b.burst * scale), bucketOpts)
      : undefined;
  const users = new Map(CLASSES.map((c) => [c, make(opts[c], 1)]));
  const admins = new Map(CLASSES.map((c) => [c, make(opts[c], multiplier)]));
  return {
    take(limit, who) {
      const rule = opts[limit];
      if (!rule) return;
      if (who.isAdmin && multiplier === 0) return; // exempt
      const buckets = (who.isAdmin ? admins : users).get(limit);
      const waitMs = buckets?.take(who.sub) ?? 0;
      if (waitMs === 0) return;
      const retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
      const scale = who.isAdmin ? multiplier : 1;
      throw new PlatformError(
        'RATE_LIMITED',
        `too many ${limit} calls from ${who.sub}: at most ${rule.perSecond * scale} per second (bursts of ${rule.burst * scale}); retry in ${retryAfterSec}s`,
        { headers: { 'retry-after': String(retryAfterSec) }, extra: { retryAfter: retryAfterSec } },
      );
    },
  };
}
