import { timingSafeEqual } from 'node:crypto';
import { PlatformError } from '@agenttier/contract';
import type { ApiKeyRecord, ApiKeyStore } from '@agenttier/core';
import type { Authenticator, Identity } from '../context.ts';
import { TokenBuckets } from '../create-limits.ts';
import { addressKey } from '../http/client-key.ts';
import { API_KEY_RE, hashApiKey, presentedCredential } from './api-key-format.ts';

export interface KeyAuthOpts {
  keys: ApiKeyStore;
  /**
   * Who a request without any credential is (`agenttier up --dev-auth`: the dev admin). Requests that
   * do present a credential are still checked. Absent: no credential → 401.
   */
  anonymous?: Identity;
  /** Failed authentications a client address may have back to back. @default 20 */
  failureBurst?: number;
  /** Failed authentications per second a client address earns back. @default 0.2 */
  failuresPerSecond?: number;
  /** Client addresses whose failures are remembered (least recently seen forgotten first). @default 10000 */
  maxTrackedClients?: number;
  /** Verified keys kept in memory; revocation through this process drops them at once. @default 10000 */
  maxCachedKeys?: number;
  /** A cached key is re-read from the store after this long (other routers' revocations). @default 5000 */
  cacheTtlMs?: number;
  /** lastUsedAt is written at most this often per key. @default 60000 */
  touchIntervalMs?: number;
  /** Bearer tokens that are not API keys (OIDC JWTs, ServiceAccount tokens): who they are, or a 401. */
  bearer?: (token: string) => Promise<Identity>;
  /** A request with no credential header: who its browser session cookie is (undefined: none). */
  session?: (headers: Record<string, string | string[] | undefined>) => Promise<Identity | undefined>;
  nowMs?: () => number;
}

export interface KeyAuthenticator {
  authenticate: Authenticator;
  /** Drops a key from the verified-key cache (call after revoking it). */
  forget(keyId: string): void;
}

interface CachedKey {
  record: ApiKeyRecord;
  readAtMs: number;
  touchedAtMs: number;
}

const HOW_TO_GET_ONE =
  'send an API key as X-API-Key or Authorization: Bearer atk_…; `agenttier up` stores an admin key in the CLI config on this machine (see docs/auth.md), an admin can create one with `agenttier apikey create`';

function unauthenticated(why: string): PlatformError {
  return new PlatformError('UNAUTHENTICATED', `${why}: ${HOW_TO_GET_ONE}`);
}

function identityOf(r: ApiKeyRecord): Identity {
  return {
    sub: r.owner.id,
    ...(r.owner.email !== undefined ? { email: r.owner.email } : {}),
    ...(r.owner.name !== undefined ? { name: r.owner.name } : {}),
    groups: [...r.owner.groups],
    isAdmin: r.owner.isAdmin,
    keyId: r.id,
    via: 'api-key',
    ...(r.scope ? { scope: r.scope } : {}),
  };
}

/**
 * API-key authentication with a failure rate limit per client address: an address that failed
 * `failureBurst` times gets 429 (with Retry-After) before its credential is even looked at, so keys
 * cannot be guessed quickly and failures cannot hammer the store. Memory: bounded buckets and cache.
 */
export function createKeyAuthenticator(opts: KeyAuthOpts): KeyAuthenticator {
  const now = opts.nowMs ?? Date.now;
  const failures = new TokenBuckets(opts.failuresPerSecond ?? 0.2, opts.failureBurst ?? 20, {
    maxKeys: opts.maxTrackedClients ?? 10_000,
    nowMs: now,
  });
  const cache = new Map<string, CachedKey>();
  const maxCached = Math.max(1, opts.maxCachedKeys ?? 10_000);
  const ttlMs = opts.cacheTtlMs ?? 5000;
  const touchMs = opts.touchIntervalMs ?? 60_000;

  const lookup = async (hash: string): Promise<CachedKey | undefined> => {
    const hit = cache.get(hash);
    if (hit && now() - hit.readAtMs < ttlMs) return hit;
    cache.delete(hash);
    const record = await opts.keys.findByHash(hash);
    if (!record) return undefined;
    // The store found the row by its hash; compare the whole digest in constant time anyway, so no
    // code path's timing depends on how much of a guessed key's hash matched.
    if (!timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
    if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
    const entry: CachedKey = { record, readAtMs: now(), touchedAtMs: hit?.touchedAtMs ?? 0 };
    cache.set(hash, entry);
    return entry;
  };

  const verify = async (headers: Record<string, string | string[] | undefined>): Promise<Identity> => {
    const presented = presentedCredential(headers);
    if (presented.kind === 'none') {
      const viaSession = await opts.session?.(headers);
      if (viaSession) return viaSession;
      if (opts.anonymous) return opts.anonymous;
      throw unauthenticated('this request carries no credential');
    }
    if (presented.kind === 'malformed') throw unauthenticated(`malformed credential (${presented.reason})`);
    if (presented.kind === 'bearer' && opts.bearer) return opts.bearer(presented.value);
    if (presented.kind === 'bearer')
      throw unauthenticated('bearer tokens other than API keys are not accepted by this server');
    if (!API_KEY_RE.test(presented.value))
      throw unauthenticated('malformed API key (expected atk_ followed by 43 letters and digits)');
    const entry = await lookup(hashApiKey(presented.value));
    if (!entry) throw unauthenticated('unknown or revoked API key');
    const { record } = entry;
    if (record.expiresAt && Date.parse(record.expiresAt) <= now())
      throw unauthenticated(`API key ${record.id} expired at ${record.expiresAt}`);
    if (now() - entry.touchedAtMs >= touchMs) {
      entry.touchedAtMs = now();
      void opts.keys.touch(record.id, new Date(now()).toISOString()).catch(() => undefined);
    }
    return identityOf(record);
  };

  return {
    async authenticate(headers, client) {
      // All of loopback is one address here, an IPv6 /64 too: rotating them must not reset the lockout.
      const address = addressKey(client?.address);
      const waitMs = failures.waitMs(address);
      if (waitMs > 0) {
        const retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
        throw new PlatformError(
          'RATE_LIMITED',
          `too many failed authentications from this address; retry in ${retryAfterSec}s`,
          { headers: { 'retry-after': String(retryAfterSec) }, extra: { retryAfter: retryAfterSec } },
        );
      }
      try {
        return await verify(headers);
      } catch (err) {
        if (err instanceof PlatformError && err.code === 'UNAUTHENTICATED') failures.take(address);
        throw err;
      }
    },
    forget(keyId) {
      for (const [hash, entry] of cache) if (entry.record.id === keyId) cache.delete(hash);
    },
  };
}
