import type { CliConfig, LoadedConfig, Settings } from '../config.ts';
import { saveConfig } from '../config.ts';
import { discoverProvider } from './discovery.ts';
import { refreshTokens } from './tokens.ts';

/** Renew this long before the stored expiry: a command that starts just in time still finishes. */
export const REFRESH_EARLY_MS = 60_000;

/**
 * Renews the OIDC access token stored by `agenttier login --oidc` when it has expired (or is about
 * to), with the stored refresh token, and saves the new tokens (0600; a rotated refresh token replaces
 * the old one). Only for a token from the config file: a token given by flag or environment is the
 * caller's to renew. A failed refresh is a warning: the command goes on with the old token, and the
 * server says whether it still works.
 */
export async function refreshStoredToken(
  config: LoadedConfig,
  settings: Settings,
  o: { signal: AbortSignal; warn(message: string): void; nowMs?: () => number },
): Promise<Settings> {
  const v = config.values;
  if (settings.credentialSource !== 'config' || !v.token || settings.token !== v.token) return settings;
  if (!v.refresh_token || !v.oidc_issuer || !v.oidc_client_id || !v.token_expires_at) return settings;
  const expiresAtMs = Date.parse(v.token_expires_at);
  const now = (o.nowMs ?? Date.now)();
  if (Number.isFinite(expiresAtMs) && expiresAtMs - REFRESH_EARLY_MS > now) return settings;
  try {
    const meta = await discoverProvider(v.oidc_issuer, o.signal);
    const fresh = await refreshTokens(meta, v.oidc_client_id, v.refresh_token, o.signal);
    const next: CliConfig = { ...v, token: fresh.accessToken };
    if (fresh.refreshToken) next.refresh_token = fresh.refreshToken;
    if (fresh.expiresAt) next.token_expires_at = fresh.expiresAt;
    else delete next.token_expires_at;
    await saveConfig(config.path, next);
    config.values = next;
    return { ...settings, token: fresh.accessToken };
  } catch (err) {
    o.warn(
      `the stored OIDC token expired at ${v.token_expires_at} and could not be refreshed (${(err as Error).message}); run \`agenttier login --oidc\``,
    );
    return settings;
  }
}
