import { createHash } from 'node:crypto';
import { PlatformError } from '@agenttier/contract';
import type { Identity } from '../context.ts';
import type { ServiceAccountReviewer } from './bearer-auth.ts';

/** What the API server's TokenReview answered (authentication.k8s.io/v1 status). */
export interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[] };
  audiences?: string[];
  error?: string;
}

/** Sends a TokenReview with the router's own credentials (the Kubernetes client, or a fake in tests). */
export type TokenReviewCall = (token: string, audiences: string[]) => Promise<TokenReviewStatus>;

export interface ServiceAccountAuthOpts {
  review: TokenReviewCall;
  /**
   * The audience the tokens must be minted for (a projected token's `audience`). Never the API
   * server's own: a token an agent uses for Kubernetes must not work here, and the router must not
   * collect tokens that work against Kubernetes. @default 'agenttier'
   */
  audience?: string;
  /** A reviewed token is trusted this long before it is reviewed again (revocation delay). @default 10000 */
  cacheTtlMs?: number;
  /** Reviewed tokens kept (least recently added dropped first). @default 10000 */
  maxCached?: number;
  nowMs?: () => number;
}

const SA_PREFIX = 'system:serviceaccount:';
const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The user id of a ServiceAccount: `system:serviceaccount:NS:NAME` → `serviceaccount:NS/NAME`.
 * Undefined for any other Kubernetes user (people, nodes): only ServiceAccounts log in this way.
 */
export function serviceAccountUserId(username: string | undefined): string | undefined {
  if (!username?.startsWith(SA_PREFIX)) return undefined;
  const [ns, name, ...rest] = username.slice(SA_PREFIX.length).split(':');
  if (rest.length || !ns || !name || !NAME_RE.test(ns) || !NAME_RE.test(name)) return undefined;
  return `serviceaccount:${ns}/${name}`;
}

function refuse(why: string): PlatformError {
  return new PlatformError(
    'UNAUTHENTICATED',
    `${why}; in-cluster agents send a projected ServiceAccount token minted for this router's audience (docs/auth.md#kubernetes-serviceaccount-tokens)`,
  );
}

interface Cached {
  identity: Identity;
  untilMs: number;
}

/**
 * Kubernetes ServiceAccount tokens, checked by the API server (TokenReview) for the router's
 * audience. A token the API server accepts is cached for `cacheTtlMs` (by its SHA-256, never the
 * token), so a deleted ServiceAccount or pod (bound tokens) stops working within that delay.
 */
export function createServiceAccountReviewer(opts: ServiceAccountAuthOpts): ServiceAccountReviewer & {
  readonly reviews: number;
} {
  const now = opts.nowMs ?? Date.now;
  const audience = opts.audience ?? 'agenttier';
  const ttlMs = opts.cacheTtlMs ?? 10_000;
  const maxCached = Math.max(1, opts.maxCached ?? 10_000);
  const cache = new Map<string, Cached>();
  let reviews = 0;

  return {
    get reviews() {
      return reviews;
    },
    async review(token) {
      const key = createHash('sha256').update(token).digest('hex');
      const hit = cache.get(key);
      if (hit && hit.untilMs > now()) return hit.identity;
      cache.delete(key);
      let status: TokenReviewStatus;
      try {
        reviews++;
        status = await opts.review(token, [audience]);
      } catch (err) {
        throw new PlatformError(
          'UNAVAILABLE',
          `the Kubernetes API server could not review the token (${(err as Error).message ?? String(err)}); retry shortly`,
          { headers: { 'retry-after': '5' } },
        );
      }
      if (!status.authenticated) throw refuse('the Kubernetes API server does not accept this token');
      // An API server that ignores spec.audiences answers without them: refuse rather than guess.
      if (!status.audiences?.includes(audience)) throw refuse(`the token is not for audience "${audience}"`);
      const sub = serviceAccountUserId(status.user?.username);
      if (!sub) throw refuse('only ServiceAccount tokens are accepted this way');
      const identity: Identity = {
        sub,
        name: status.user!.username!,
        groups: (status.user?.groups ?? []).filter((g) => typeof g === 'string').slice(0, 256),
        isAdmin: false,
        via: 'service-account',
      };
      if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
      cache.set(key, { identity, untilMs: now() + ttlMs });
      return identity;
    },
  };
}
