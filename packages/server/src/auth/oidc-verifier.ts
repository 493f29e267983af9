import { createHash } from 'node:crypto';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import { PlatformError } from '@agenttier/contract';
import type { Identity } from '../context.ts';
import type { OidcSettings } from './oidc-settings.ts';

/** The provider's endpoints, from `${issuer}/.well-known/openid-configuration`. */
export interface OidcDiscovery {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
}

export interface OidcVerifier {
  /** Who a bearer access token is; 401 for any bad token, 503 when the provider cannot be reached. */
  verifyAccessToken(token: string): Promise<Identity>;
  /** An ID token from the browser login: audience is the client id, and `nonce` must match. */
  verifyIdToken(token: string, nonce: string): Promise<Identity>;
  /**
   * A back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6): signed by the provider
   * for the client id, with the logout event, `sub` or `sid`, a `jti`, and no `nonce`; 400 otherwise.
   */
  verifyLogoutToken(token: string): Promise<LogoutClaims>;
  discovery(): Promise<OidcDiscovery>;
  /** Whether a token names this issuer (unverified: only to choose a verifier). */
  claimsIssuer(token: string): boolean;
  /** JWKS downloads so far (tests of the refetch rate limit). */
  readonly jwksFetches: number;
}

/** Who a back-channel logout ends: the provider's session (`sid`) or all of a user's (`sub`). */
export interface LogoutClaims {
  sub?: string;
  sid?: string;
  jti: string;
  /** Until when the token could be replayed (its `exp`, else `iat` plus the accepted age). */
  replayableUntilMs: number;
}

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token without `exp` older than this is refused (a stale one replayed). */
const LOGOUT_TOKEN_MAX_AGE_MS = 5 * 60_000;

/** Signatures accepted: asymmetric only, so no key the router can see could have made one. */
export const OIDC_ALGORITHMS = ['RS256', 'ES256'];
const MAX_DOCUMENT_BYTES = 512 * 1024;
const MAX_CLAIM_CHARS = 256;
const MAX_GROUPS = 256;
/** Verified access tokens kept (by SHA-256) so a client's repeated token skips the signature check. */
const MAX_CACHED_TOKENS = 10_000;
const TOKEN_CACHE_MS = 60_000;

export interface OidcVerifierOpts {
  nowMs?: () => number;
  /** For tests and proxies; the global fetch otherwise. */
  fetch?: typeof fetch;
}

function unauthenticated(why: string): PlatformError {
  return new PlatformError(
    'UNAUTHENTICATED',
    `${why}; send a current access token from your OpenID provider (or an API key), see docs/auth.md`,
  );
}

/** A claim by name, or by a dotted path into objects (`realm_access.roles`) when no claim has the name. */
function claimAt(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  let v: unknown = payload;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const printable = (v: unknown): v is string =>
  typeof v === 'string' &&
  v.length > 0 &&
  v.length <= MAX_CLAIM_CHARS &&
  ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** Maps verified claims to an identity, per the settings' claim names. */
export function identityFromClaims(payload: JWTPayload, s: OidcSettings): Identity {
  const userClaim = s.userClaim ?? 'sub';
  const user = claimAt(payload, userClaim);
  if (!printable(user))
    throw unauthenticated(
      `the token has no usable "${userClaim}" claim (a string of 1–${MAX_CLAIM_CHARS} characters)`,
    );
  const rawGroups = claimAt(payload, s.groupsClaim ?? 'groups');
  const groups = (Array.isArray(rawGroups) ? rawGroups : rawGroups === undefined ? [] : [rawGroups])
    .filter(printable)
    .slice(0, MAX_GROUPS);
  const email = payload.email;
  const name = payload.name ?? payload.preferred_username;
  return {
    sub: `${s.userPrefix ?? ''}${user}`,
    ...(printable(email) ? { email } : {}),
    ...(printable(name) ? { name } : {}),
    groups,
    isAdmin: s.adminGroup !== undefined && groups.includes(s.adminGroup),
    via: 'oidc',
  };
}

/** A 401 or 503 for whatever jose or the fetches threw. */
function toPlatformError(err: unknown, issuer: string): PlatformError {
  if (err instanceof PlatformError) return err;
  if (err instanceof errors.JWTExpired) return unauthenticated('the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed)
    return unauthenticated(`the token's "${err.claim}" claim is not accepted here (${err.reason})`);
  if (err instanceof errors.JOSEAlgNotAllowed)
    return unauthenticated(`the token's algorithm is not accepted (only ${OIDC_ALGORITHMS.join(', ')})`);
  if (err instanceof errors.JWKSNoMatchingKey)
    return unauthenticated(`the token is signed with a key ${issuer} does not publish`);
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return unauthenticated('the token signature does not verify');
  if (err instanceof errors.JOSEError) return unauthenticated(`malformed token (${err.code})`);
  return unauthenticated('malformed token');
}

function unavailable(issuer: string, why: string): PlatformError {
  return new PlatformError(
    'UNAVAILABLE',
    `the OpenID provider ${issuer} cannot be reached (${why}); tokens signed with keys fetched before keep working, retry shortly`,
    { headers: { 'retry-after': '5' } },
  );
}

/**
 * Verifies OIDC JWTs against the issuer's JWKS. Keys are fetched on first use and kept; a token with
 * a `kid` not among them refetches the JWKS (key rotation) at most once per `jwksRefetchIntervalMs`,
 * so a flood of tokens with made-up kids cannot turn the router into a JWKS hammer. When the provider
 * is down, cached keys keep working and only tokens needing a fetch get 503.
 */
export function createOidcVerifier(s: OidcSettings, opts: OidcVerifierOpts = {}): OidcVerifier {
  const now = opts.nowMs ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = s.fetchTimeoutMs ?? 5000;
  const refetchMs = s.jwksRefetchIntervalMs ?? 10_000;
  const skewSec = s.clockSkewSec ?? 30;
  const issuer = s.issuer.replace(/\/$/, '');
  let discovered: OidcDiscovery | undefined;
  let discoveryFailedAtMs = -Infinity;
  let discoveryError = '';
  let localKeys: JWTVerifyGetKey | undefined;
  let lastJwksFetchMs = -Infinity;
  let inflight: Promise<void> | undefined;
  let fetches = 0;
  const verified = new Map<string, { identity: Identity; untilMs: number }>();

  const getJson = async (url: string): Promise<unknown> => {
    const res = await doFetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
      redirect: 'error',
    });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_DOCUMENT_BYTES)
      throw new Error(`${url} sent more than ${MAX_DOCUMENT_BYTES} bytes`);
    return JSON.parse(text) as unknown;
  };

  const discovery = async (): Promise<OidcDiscovery> => {
    if (discovered) return discovered;
    // A provider that is down is asked again after a few seconds, not by every request.
    if (now() - discoveryFailedAtMs < 5000) throw unavailable(s.issuer, discoveryError);
    try {
      const doc = (await getJson(`${issuer}/.well-known/openid-configuration`)) as Partial<OidcDiscovery>;
      // The document must name the issuer we trust, exactly: otherwise tokens from another issuer
      // (a mix-up, a hijacked path) could be verified with its keys.
      if (doc.issuer !== s.issuer && doc.issuer !== issuer)
        throw new Error(`its discovery document names issuer "${String(doc.issuer).slice(0, 200)}"`);
      if (typeof doc.jwks_uri !== 'string') throw new Error('its discovery document has no jwks_uri');
      discovered = doc as OidcDiscovery;
      return discovered;
    } catch (err) {
      discoveryFailedAtMs = now();
      discoveryError = err instanceof Error ? err.message : String(err);
      throw unavailable(s.issuer, discoveryError);
    }
  };

  const refreshJwks = async (): Promise<void> => {
    inflight ??= (async () => {
      try {
        const { jwks_uri } = await discovery();
        lastJwksFetchMs = now();
        fetches++;
        const jwks = (await getJson(jwks_uri)) as JSONWebKeySet;
        localKeys = createLocalJWKSet(jwks);
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!localKeys) {
      try {
        await refreshJwks();
      } catch (err) {
        throw err instanceof PlatformError
          ? err
          : unavailable(s.issuer, String((err as Error).message ?? err));
      }
    }
    try {
      return await localKeys!(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || now() - lastJwksFetchMs < refetchMs) throw err;
      try {
        await refreshJwks();
      } catch {
        throw err; // the provider is down: an unknown key stays unknown (cached keys still work)
      }
      return localKeys!(header, token);
    }
  };

  const verify = async (
    token: string,
    audience: string[],
    nonce?: string,
  ): Promise<{ identity: Identity; expMs: number }> => {
    try {
      const { payload } = await jwtVerify(token, getKey, {
        issuer: [s.issuer, issuer],
        audience,
        algorithms: OIDC_ALGORITHMS,
        clockTolerance: skewSec,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'iat'],
      });
      if (nonce !== undefined && payload.nonce !== nonce)
        throw unauthenticated('the ID token does not carry the nonce of this login');
      return { identity: identityFromClaims(payload, s), expMs: payload.exp! * 1000 };
    } catch (err) {
      throw toPlatformError(err, s.issuer);
    }
  };

  return {
    async verifyAccessToken(token) {
      const key = createHash('sha256').update(token).digest('hex');
      const hit = verified.get(key);
      if (hit && hit.untilMs > now()) return hit.identity;
      verified.delete(key);
      const { identity, expMs } = await verify(token, s.audience);
      // Never past the token's own expiry (with the same skew the check allows), at most a minute.
      const untilMs = Math.min(expMs + skewSec * 1000, now() + TOKEN_CACHE_MS);
      if (verified.size >= MAX_CACHED_TOKENS) verified.delete(verified.keys().next().value!);
      verified.set(key, { identity, untilMs });
      return identity;
    },
    verifyIdToken: async (token, nonce) => {
      if (!s.clientId) throw new PlatformError('NOT_IMPLEMENTED', 'OIDC login needs a client id');
      return (await verify(token, [s.clientId], nonce)).identity;
    },
    async verifyLogoutToken(token) {
      if (!s.clientId) throw new PlatformError('NOT_IMPLEMENTED', 'back-channel logout needs a client id');
      const bad = (why: string) => new PlatformError('BAD_REQUEST', `logout token refused: ${why}`);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: [s.issuer, issuer],
          audience: [s.clientId],
          algorithms: OIDC_ALGORITHMS,
          clockTolerance: skewSec,
          currentDate: new Date(now()),
          requiredClaims: ['iat', 'jti'],
        }));
      } catch (err) {
        const e = toPlatformError(err, s.issuer);
        if (e.code === 'UNAVAILABLE') throw e;
        throw bad(e.message);
      }
      const events = payload.events as Record<string, unknown> | undefined;
      const event = events && typeof events === 'object' ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
      if (typeof event !== 'object' || event === null || Array.isArray(event))
        throw bad('it carries no back-channel logout event');
      // An ID token (which has a nonce) must never pass as a logout token.
      if (payload.nonce !== undefined) throw bad('it carries a nonce');
      const sub = printable(payload.sub) ? payload.sub : undefined;
      const sid = printable(payload.sid) ? payload.sid : undefined;
      if (!sub && !sid) throw bad('it names neither sub nor sid');
      if (!printable(payload.jti)) throw bad('its jti is not usable');
      const iatMs = payload.iat! * 1000;
      if (payload.exp === undefined && now() - iatMs > LOGOUT_TOKEN_MAX_AGE_MS + skewSec * 1000)
        throw bad('it was issued too long ago');
      return {
        ...(sub ? { sub } : {}),
        ...(sid ? { sid } : {}),
        jti: payload.jti,
        replayableUntilMs:
          (payload.exp !== undefined ? payload.exp * 1000 : iatMs + LOGOUT_TOKEN_MAX_AGE_MS) + skewSec * 1000,
      };
    },
    discovery,
    claimsIssuer(token) {
      try {
        const iss = decodeJwt(token).iss;
        return iss === s.issuer || iss === issuer;
      } catch {
        return false;
      }
    },
    get jwksFetches() {
      return fetches;
    },
  };
}
