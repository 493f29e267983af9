import { PlatformError } from '@agenttier/contract';
import { TokenBuckets } from '../create-limits.ts';
import type { Identity } from '../context.ts';
import { addressKey } from '../http/client-key.ts';
import type { RateLimitClass } from './access-rules.ts';

/** One token bucket: a sustained rate and how many may come back to back. */
export interface RateBucketOpts {
  perSecond: number;
  burst: number;
}

/** Buckets of the per-address limits, by class; an absent class is not limited per address. */
export type AddressRateLimitOpts = Partial<Record<RateLimitClass, RateBucketOpts>>;

/**
 * Rate limits of the expensive calls (docs/auth.md): each route names its class in the access table
 * (`limit`). Each identity has one bucket per class (a sandbox-scoped key its own), and so does each
 * client address (loopback one client, IPv6 per /64), so many identities from one host share a budget.
 */
export interface IdentityRateLimitOpts {
  /** `POST /api/v1/sandboxes`. Absent: no limit of this class. */
  create?: RateBucketOpts;
  /** Commands: exec, exec/stream, starting background processes. */
  exec?: RateBucketOpts;
  /** Agent invokes and configures. */
  invoke?: RateBucketOpts;
  /** Per client address, in addition to the per-identity buckets. Absent: no per-address limit. */
  perAddress?: AddressRateLimitOpts;
  /** Admins get this many times the rate and burst (per identity and per address); 0 exempts them. @default 0 */
  adminMultiplier?: number;
  /** Identities remembered per class (least recently seen forgotten first: memory stays bounded). @default 10000 */
  maxTrackedIdentities?: number;
  /** Addresses remembered per class (least recently seen forgotten first). @default 10000 */
  maxTrackedAddresses?: number;
  nowMs?: () => number;
}

/** What `agenttier up` and the Kubernetes router use unless configured otherwise. */
export const DEFAULT_IDENTITY_RATE_LIMITS: IdentityRateLimitOpts = {
  create: { perSecond: 1, burst: 20 },
  exec: { perSecond: 20, burst: 200 },
  invoke: { perSecond: 2, burst: 20 },
  // Twice an identity's budget: two people behind one address work undisturbed; a host minting
  // identities (keys, service accounts, tokens) to multiply its share does not.
  perAddress: {
    create: { perSecond: 2, burst: 40 },
    exec: { perSecond: 40, burst: 400 },
    invoke: { perSecond: 4, burst: 40 },
  },
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
 * The limits from `AGENTTIER_RATE_LIMIT_CREATE`, `…_EXEC`, `…_INVOKE` (per identity),
 * `AGENTTIER_RATE_LIMIT_ADDRESS_CREATE`, `…_ADDRESS_EXEC`, `…_ADDRESS_INVOKE` (per client address),
 * each `RATE/BURST` or `off`, and `AGENTTIER_RATE_LIMIT_ADMIN_MULTIPLIER` (0: admins exempt), each
 * falling back to the default.
 */
export function rateLimitsFromEnv(env: Record<string, string | undefined>): IdentityRateLimitOpts {
  const out: IdentityRateLimitOpts = {};
  const perAddress: AddressRateLimitOpts = {};
  for (const c of CLASSES) {
    const name = `AGENTTIER_RATE_LIMIT_${c.toUpperCase()}`;
    const v = env[name];
    const bucket = v === undefined || v === '' ? DEFAULT_IDENTITY_RATE_LIMITS[c] : parseBucket(name, v);
    if (bucket) out[c] = bucket;
    const aName = `AGENTTIER_RATE_LIMIT_ADDRESS_${c.toUpperCase()}`;
    const av = env[aName];
    const aBucket =
      av === undefined || av === '' ? DEFAULT_IDENTITY_RATE_LIMITS.perAddress![c] : parseBucket(aName, av);
    if (aBucket) perAddress[c] = aBucket;
  }
  out.perAddress = perAddress;
  const m = env.AGENTTIER_RATE_LIMIT_ADMIN_MULTIPLIER;
  const multiplier = m === undefined || m === '' ? DEFAULT_IDENTITY_RATE_LIMITS.adminMultiplier! : Number(m);
  if (!(Number.isFinite(multiplier) && multiplier >= 0))
    throw new Error(`AGENTTIER_RATE_LIMIT_ADMIN_MULTIPLIER must be a number >= 0 (got ${JSON.stringify(m)})`);
  out.adminMultiplier = multiplier;
  return out;
}

export interface IdentityRateLimiter {
  /**
   * Spends one token of `limit` for `who` and for the client `address` (the request's, after trusted
   * proxies); throws 429 RATE_LIMITED with Retry-After when either has none left, spending neither.
   */
  take(limit: RateLimitClass, who: Identity, address?: string): void;
}

/** The identity bucket a caller spends: a sandbox-scoped key its own, everyone else their user's. */
function identityBucketOf(who: Identity): { key: string; label: string } {
  return who.scope && who.keyId
    ? { key: `key:${who.keyId}`, label: `API key ${who.keyId}` }
    : { key: `user:${who.sub}`, label: who.sub };
}

/**
 * Buckets per class, keyed by user (`sub`; every key and session of one user share them) or by scoped
 * key, and per class keyed by client address.
 */
export function createIdentityRateLimiter(opts: IdentityRateLimitOpts): IdentityRateLimiter {
  const multiplier = opts.adminMultiplier ?? 0;
  const clock = opts.nowMs ? { nowMs: opts.nowMs } : {};
  const make = (b: RateBucketOpts | undefined, scale: number, maxKeys: number) =>
    b && scale > 0
      ? new TokenBuckets(b.perSecond * scale, Math.max(1, b.burst * scale), { maxKeys, ...clock })
      : undefined;
  const maxIds = opts.maxTrackedIdentities ?? 10_000;
  const maxAddrs = opts.maxTrackedAddresses ?? 10_000;
  const users = new Map(CLASSES.map((c) => [c, make(opts[c], 1, maxIds)]));
  const admins = new Map(CLASSES.map((c) => [c, make(opts[c], multiplier, maxIds)]));
  const addrUsers = new Map(CLASSES.map((c) => [c, make(opts.perAddress?.[c], 1, maxAddrs)]));
  const addrAdmins = new Map(CLASSES.map((c) => [c, make(opts.perAddress?.[c], multiplier, maxAddrs)]));
  const refuse = (waitMs: number, what: string, rule: RateBucketOpts, scale: number): PlatformError => {
    const retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
    return new PlatformError(
      'RATE_LIMITED',
      `too many ${what}: at most ${rule.perSecond * scale} per second (bursts of ${rule.burst * scale}); retry in ${retryAfterSec}s`,
      { headers: { 'retry-after': String(retryAfterSec) }, extra: { retryAfter: retryAfterSec } },
    );
  };
  return {
    take(limit, who, address) {
      if (who.isAdmin && multiplier === 0) return; // exempt
      const scale = who.isAdmin ? multiplier : 1;
      const id = identityBucketOf(who);
      const idBuckets = (who.isAdmin ? admins : users).get(limit);
      const addr = address === undefined ? undefined : addressKey(address);
      const addrBuckets = addr === undefined ? undefined : (who.isAdmin ? addrAdmins : addrUsers).get(limit);
      // Look at both before taking from either: a refusal by one spends nothing from the other.
      const idWait = idBuckets?.waitMs(id.key) ?? 0;
      if (idWait > 0) throw refuse(idWait, `${limit} calls from ${id.label}`, opts[limit]!, scale);
      const addrWait = addr === undefined ? 0 : (addrBuckets?.waitMs(addr) ?? 0);
      if (addrWait > 0)
        throw refuse(addrWait, `${limit} calls from client address ${addr}`, opts.perAddress![limit]!, scale);
      idBuckets?.take(id.key);
      if (addr !== undefined) addrBuckets?.take(addr);
    },
  };
}
