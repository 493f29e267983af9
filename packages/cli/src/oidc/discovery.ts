import { CliError, EXIT } from '../errors.ts';

/** What the CLI reads from a provider's discovery document. */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint: string;
  /** RFC 8628: present when the provider offers the device authorization grant. */
  device_authorization_endpoint?: string;
  /** RFC 7009: where `logout` revokes the refresh token. */
  revocation_endpoint?: string;
  scopes_supported?: string[];
}

export const oidcFail = (why: string, hint?: string): CliError =>
  new CliError(`OIDC login failed: ${why}`, EXIT.ERROR, hint);

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Tokens and codes travel to these URLs: https only, or plain http to this machine (a provider run
 * locally for development). Anything else would hand a refresh token to whoever sits on the path.
 */
export function requireSafeUrl(what: string, value: unknown): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw oidcFail(`the provider's ${what} is not a URL (${JSON.stringify(value)})`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    return url.toString();
  throw oidcFail(`the provider's ${what} ${url.origin} is neither https nor on this machine`);
}

/** Reads `${issuer}/.well-known/openid-configuration`; its issuer must be the one asked for. */
export async function discoverProvider(issuer: string, signal: AbortSignal): Promise<ProviderMetadata> {
  const base = requireSafeUrl('issuer', issuer).replace(/\/$/, '');
  const res = await fetch(`${base}/.well-known/openid-configuration`, {
    signal,
    headers: { accept: 'application/json' },
  }).catch((err: unknown) => {
    throw oidcFail(`cannot reach ${base} (${(err as Error).message})`);
  });
  if (!res.ok) throw oidcFail(`${base} has no discovery document (${res.status})`);
  const disc = (await res.json().catch(() => ({}))) as Partial<Record<keyof ProviderMetadata, unknown>>;
  if (disc.issuer !== issuer && disc.issuer !== base)
    throw oidcFail(`the discovery document names issuer ${String(disc.issuer)}, not ${issuer}`);
  if (typeof disc.token_endpoint !== 'string') throw oidcFail('the provider has no token endpoint');
  const opt = (k: keyof ProviderMetadata) =>
    typeof disc[k] === 'string' ? { [k]: requireSafeUrl(k, disc[k]) } : {};
  return {
    issuer: String(disc.issuer),
    token_endpoint: requireSafeUrl('token_endpoint', disc.token_endpoint),
    ...opt('authorization_endpoint'),
    ...opt('device_authorization_endpoint'),
    ...opt('revocation_endpoint'),
    ...(Array.isArray(disc.scopes_supported)
      ? { scopes_supported: disc.scopes_supported.filter((s): s is string => typeof s === 'string') }
      : {}),
  };
}

/**
 * The scopes to ask for: the given ones plus `offline_access` (a refresh token) when the provider
 * lists it, so an expired access token can be renewed without a browser.
 */
export function scopesWithRefresh(meta: ProviderMetadata, scopes: readonly string[]): string[] {
  const out = [...scopes];
  if (!out.includes('offline_access') && meta.scopes_supported?.includes('offline_access'))
    out.push('offline_access');
  return out;
}
