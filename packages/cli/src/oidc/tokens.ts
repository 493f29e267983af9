import type { ProviderMetadata } from './discovery.ts';
import { oidcFail } from './discovery.ts';

/** What a token endpoint hands the CLI. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** RFC 3339; absent when the provider gave no `expires_in`. */
  expiresAt?: string;
}

/** An OAuth error answer (RFC 6749 §5.2, RFC 8628 §3.5). */
export interface TokenError {
  error: string;
  description: string;
  status: number;
}

/** Posts a form to the token endpoint; a TokenSet, or the provider's error as a value. */
export async function tokenRequest(
  meta: ProviderMetadata,
  params: Record<string, string>,
  signal: AbortSignal,
  nowMs: () => number = Date.now,
): Promise<TokenSet | TokenError> {
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(params),
    signal,
  }).catch((err: unknown) => {
    throw oidcFail(`cannot reach the token endpoint (${(err as Error).message})`);
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== 'string')
    return {
      error: typeof body.error === 'string' ? body.error : `http_${res.status}`,
      description: typeof body.error_description === 'string' ? body.error_description : '',
      status: res.status,
    };
  const expiresIn = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
    ...(Number.isFinite(expiresIn) && expiresIn > 0
      ? { expiresAt: new Date(nowMs() + expiresIn * 1000).toISOString() }
      : {}),
  };
}

export function isTokenError(r: TokenSet | TokenError): r is TokenError {
  return 'error' in r;
}

/**
 * A new access token from a refresh token (RFC 6749 §6). The provider may rotate the refresh token:
 * the answer's replaces the old one; without one in the answer the old one stays.
 */
export async function refreshTokens(
  meta: ProviderMetadata,
  clientId: string,
  refreshToken: string,
  signal: AbortSignal,
): Promise<TokenSet> {
  const r = await tokenRequest(
    meta,
    { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId },
    signal,
  );
  if (isTokenError(r)) throw oidcFail(`refreshing the token: ${r.error} ${r.description}`.trim());
  return { ...r, refreshToken: r.refreshToken ?? refreshToken };
}

/** Revokes a token at the provider (RFC 7009). Throws when the provider refuses. */
export async function revokeToken(
  meta: ProviderMetadata,
  clientId: string,
  token: string,
  hint: 'refresh_token' | 'access_token',
  signal: AbortSignal,
): Promise<void> {
  if (!meta.revocation_endpoint) throw oidcFail('the provider has no revocation endpoint');
  const res = await fetch(meta.revocation_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token, token_type_hint: hint, client_id: clientId }),
    signal,
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string; error_description?: string };
    throw oidcFail(
      `revoking the ${hint}: ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim(),
    );
  }
}
