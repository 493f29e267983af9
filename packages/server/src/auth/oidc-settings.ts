/** What the router needs to know about an OpenID provider (docs/auth.md#oidc). */
export interface OidcSettings {
  /** The issuer URL exactly as the provider writes it in `iss` (https; http only on loopback). */
  issuer: string;
  /** Accepted `aud` of bearer tokens (the API's identifier at the provider; often the client id). */
  audience: string[];
  /** Browser login: the router's client at the provider (authorization code + PKCE). */
  clientId?: string;
  /** Browser login: the client secret, for a confidential client (absent: a public client, PKCE only). */
  clientSecret?: string;
  /** Browser login: the callback URL registered at the provider (absent: derived from the request's Host). */
  redirectUrl?: string;
  /** `agenttier login --oidc`: a public client at the provider that allows http://127.0.0.1 redirects (announced at /api/v1/auth/methods). */
  cliClientId?: string;
  /** Browser login: scopes asked for. @default ['openid', 'email', 'profile'] */
  scopes?: string[];
  /** Claim naming the user (dots reach into objects). @default 'sub' */
  userClaim?: string;
  /** Prefix of user ids from this issuer, so they cannot collide with API-key owners. @default '' */
  userPrefix?: string;
  /** Claim holding the groups: an array of strings or one string. @default 'groups' */
  groupsClaim?: string;
  /** Members of this group are admins. Absent: no OIDC user is an admin. */
  adminGroup?: string;
  /** Leeway for exp/nbf/iat. @default 30 */
  clockSkewSec?: number;
  /** An unknown `kid` refetches the JWKS at most this often. @default 10000 */
  jwksRefetchIntervalMs?: number;
  /** Discovery and JWKS requests give up after this. @default 5000 */
  fetchTimeoutMs?: number;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Throws with what is wrong; an http issuer is accepted on loopback only (tests, a local provider). */
export function checkOidcSettings(s: OidcSettings): OidcSettings {
  let url: URL;
  try {
    url = new URL(s.issuer);
  } catch {
    throw new Error(`OIDC issuer "${s.issuer}" is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))
    throw new Error(`OIDC issuer "${s.issuer}" must be https (http is accepted for loopback only)`);
  if (s.audience.length === 0 || s.audience.some((a) => a.trim() === ''))
    throw new Error('OIDC needs an audience (AGENTTIER_OIDC_AUDIENCE): the aud your tokens carry');
  if (s.clientSecret !== undefined && s.clientId === undefined)
    throw new Error('an OIDC client secret needs a client id (AGENTTIER_OIDC_CLIENT_ID)');
  return s;
}

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * OIDC settings from the environment (`agenttier up` flags and the Kubernetes router's env set the
 * same names); undefined when AGENTTIER_OIDC_ISSUER is not set.
 */
export function oidcSettingsFromEnv(env: Record<string, string | undefined>): OidcSettings | undefined {
  const issuer = env.AGENTTIER_OIDC_ISSUER?.trim();
  if (!issuer) return undefined;
  const clientId = env.AGENTTIER_OIDC_CLIENT_ID?.trim() || undefined;
  const audience = list(env.AGENTTIER_OIDC_AUDIENCE);
  const num = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
    return n;
  };
  const opt = (name: string): string | undefined => env[name]?.trim() || undefined;
  const skew = num('AGENTTIER_OIDC_CLOCK_SKEW_SEC');
  const scopes = list(env.AGENTTIER_OIDC_SCOPES);
  return checkOidcSettings({
    issuer,
    audience: audience.length ? audience : clientId ? [clientId] : [],
    ...(clientId ? { clientId } : {}),
    ...(opt('AGENTTIER_OIDC_CLIENT_SECRET') ? { clientSecret: opt('AGENTTIER_OIDC_CLIENT_SECRET')! } : {}),
    ...(opt('AGENTTIER_OIDC_REDIRECT_URL') ? { redirectUrl: opt('AGENTTIER_OIDC_REDIRECT_URL')! } : {}),
    ...(scopes.length ? { scopes } : {}),
    ...(opt('AGENTTIER_OIDC_CLI_CLIENT_ID') ? { cliClientId: opt('AGENTTIER_OIDC_CLI_CLIENT_ID')! } : {}),
    ...(opt('AGENTTIER_OIDC_USER_CLAIM') ? { userClaim: opt('AGENTTIER_OIDC_USER_CLAIM')! } : {}),
    ...(env.AGENTTIER_OIDC_USER_PREFIX ? { userPrefix: env.AGENTTIER_OIDC_USER_PREFIX } : {}),
    ...(opt('AGENTTIER_OIDC_GROUPS_CLAIM') ? { groupsClaim: opt('AGENTTIER_OIDC_GROUPS_CLAIM')! } : {}),
    ...(opt('AGENTTIER_OIDC_ADMIN_GROUP') ? { adminGroup: opt('AGENTTIER_OIDC_ADMIN_GROUP')! } : {}),
    ...(skew !== undefined ? { clockSkewSec: skew } : {}),
  });
}
