import type { logoutCommand } from './command.ts';
import type { loginCommand } from './command.ts';
import { AgentTier } from '@agenttier/sdk';
import type { AuthMethods, UserInfo } from '@agenttier/sdk';
import { CREDENTIAL_KEYS, saveConfig } from '../../config.ts';
import type { CliConfig } from '../../config.ts';
import { CliError, EXIT, UsageError } from '../../errors.ts';
import { str } from '../../flags.ts';
import type { Client } from '../../context.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';
import type { ProviderMetadata } from '../../oidc/discovery.ts';
import { discoverProvider, scopesWithRefresh } from '../../oidc/discovery.ts';
import { oidcDeviceLogin } from '../../oidc/device.ts';
import { oidcLoopbackLogin } from '../../oidc/loopback.ts';
import type { TokenSet } from '../../oidc/tokens.ts';
import { revokeToken } from '../../oidc/tokens.ts';
import { readSecretLine } from './read-secret.ts';

async function whoIs(client: Client, cred: { apiKey: string } | { token: string }): Promise<UserInfo> {
  const sdk = new AgentTier({ apiUrl: client.settings.apiUrl, ...cred, env: {} });
  return sdk.currentUser({ signal: client.signal });
}

/** The config without any stored credential (key, tokens and where they came from). */
function withoutCredentials(values: CliConfig): CliConfig {
  const rest: CliConfig = { ...values };
  for (const k of CREDENTIAL_KEYS) delete rest[k];
  return rest;
}

/** Saves the new credential (and the server it is for), dropping everything of the old one. */
async function store(client: Client, cred: CliConfig): Promise<void> {
  const next: CliConfig = {
    ...withoutCredentials(client.config.values),
    api_url: client.settings.apiUrl,
    ...cred,
  };
  await saveConfig(client.config.path, next);
}

/**
 * The device authorization grant when the provider offers it (nothing listens on this machine, and the
 * browser may be on another one), else authorization code + PKCE with a loopback redirect; `--browser`
 * picks the latter.
 */
async function oidcTokens(
  client: Client,
  meta: ProviderMetadata,
  clientId: string,
  scopes: string[],
  browser: boolean,
): Promise<TokenSet> {
  if (meta.device_authorization_endpoint && !browser)
    return oidcDeviceLogin({
      meta,
      clientId,
      scopes,
      signal: client.signal,
      show: ({ verificationUri, userCode, verificationUriComplete }) =>
        client.log(
          `To log in, open this address in a browser on any device:\n\n  ${verificationUriComplete ?? verificationUri}\n\nand check that it shows the code ${userCode} (or go to ${verificationUri} and type it). Waiting…\n`,
        ),
    });
  return oidcLoopbackLogin({
    meta,
    clientId,
    scopes,
    show: (url) => client.log(`Open this address in a browser on this machine to log in:\n\n  ${url}\n`),
    signal: client.signal,
  });
}

const login: HandlerOf<typeof loginCommand, ''> = async (client, { opts }) => {
  let who: UserInfo;
  if (opts.oidc === true) {
    let issuer = str(opts.issuer);
    let clientId = str(opts.clientId);
    let scopes = str(opts.scopes)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!issuer || !clientId) {
      const res = await fetch(`${client.settings.apiUrl}/api/v1/auth/methods`, { signal: client.signal });
      const methods = (res.ok ? await res.json() : {}) as AuthMethods;
      issuer ??= methods.oidcCli?.issuer;
      clientId ??= methods.oidcCli?.clientId;
      scopes ??= methods.oidcCli?.scopes;
    }
    if (!issuer || !clientId)
      throw new CliError(
        `${client.settings.apiUrl} announces no OIDC client for the CLI`,
        EXIT.USAGE,
        'Pass --issuer and --client-id (a public client that allows http://127.0.0.1 redirects), or log in with an API key',
      );
    const meta = await discoverProvider(issuer, client.signal);
    const tokens = await oidcTokens(
      client,
      meta,
      clientId,
      scopesWithRefresh(meta, scopes ?? ['openid', 'email', 'profile']),
      opts.browser === true,
    );
    who = await whoIs(client, { token: tokens.accessToken });
    await store(client, {
      token: tokens.accessToken,
      ...(tokens.refreshToken ? { refresh_token: tokens.refreshToken } : {}),
      ...(tokens.expiresAt ? { token_expires_at: tokens.expiresAt } : {}),
      oidc_issuer: issuer,
      oidc_client_id: clientId,
    });
  } else {
    const fromFlag = client.settings.credentialSource === 'flag' ? client.settings.apiKey : undefined;
    const key =
      fromFlag ?? (await readSecretLine(client.stdin, client.stderr, 'API key (atk_…): ', client.signal));
    if (!key) throw new UsageError('no API key given: paste one, or pass --api-key');
    who = await whoIs(client, { apiKey: key });
    await store(client, { api_key: key });
  }
  client.print(who, () => '');
  client.log(
    `Logged in to ${client.settings.apiUrl} as ${who.id}${who.isAdmin ? ' (admin)' : ''}; saved in ${client.config.path}`,
  );
  return EXIT.OK;
};

/** Revokes the stored refresh token at its provider (RFC 7009); says what happened. */
async function revokeAtProvider(client: Client, values: CliConfig): Promise<string> {
  const { refresh_token, oidc_issuer, oidc_client_id } = values;
  if (!refresh_token || !oidc_issuer || !oidc_client_id) return '';
  try {
    const meta = await discoverProvider(oidc_issuer, client.signal);
    if (!meta.revocation_endpoint) {
      client.warn(
        `${oidc_issuer} has no revocation endpoint: the refresh token stays valid there until it expires`,
      );
      return '';
    }
    await revokeToken(meta, oidc_client_id, refresh_token, 'refresh_token', client.signal);
    return ` Revoked the refresh token at ${oidc_issuer}; the access token itself stays valid until it expires${values.token_expires_at ? ` (${values.token_expires_at})` : ''}.`;
  } catch (err) {
    client.warn(`could not revoke the refresh token at ${oidc_issuer}: ${(err as Error).message}`);
    return '';
  }
}

const logout: HandlerOf<typeof logoutCommand, ''> = async (client) => {
  const { api_key, token } = client.config.values;
  const rest = withoutCredentials(client.config.values);
  if (!api_key && !token && !client.config.values.refresh_token) {
    client.log(`No credentials stored in ${client.config.path}.`);
    return EXIT.OK;
  }
  const revoked = await revokeAtProvider(client, client.config.values);
  await saveConfig(client.config.path, rest);
  client.log(
    `Removed the stored ${api_key ? 'API key' : 'token'} from ${client.config.path}.${api_key ? ' The key still works wherever else it is used; `agenttier apikey revoke` ends it.' : ''}${revoked}`,
  );
  if (client.settings.credentialSource === 'env')
    client.warn('AGENTTIER_API_KEY / AGENTTIER_TOKEN are set in this environment and still log you in');
  return EXIT.OK;
};

export const loginHandlers: HandlersOf<typeof loginCommand> = { '': login };
export const logoutHandlers: HandlersOf<typeof logoutCommand> = { '': logout };
