import { AgentTier } from '@agenttier/sdk';
import type { UserInfo } from '@agenttier/sdk';
import { saveConfig } from '../../config.ts';
import type { CliConfig } from '../../config.ts';
import { CliError, EXIT, UsageError } from '../../errors.ts';
import { str } from '../../flags.ts';
import type { Client } from '../../context.ts';
import type { Handler, HandlerMap } from '../../spec.ts';
import { oidcLoopbackLogin } from './oidc-loopback.ts';
import { readSecretLine } from './read-secret.ts';

interface AuthMethods {
  oidcCli?: { issuer: string; clientId: string; scopes?: string[] };
}

async function whoIs(client: Client, cred: { apiKey: string } | { token: string }): Promise<UserInfo> {
  const sdk = new AgentTier({ apiUrl: client.settings.apiUrl, ...cred, env: {} });
  return sdk.currentUser({ signal: client.signal });
}

/** Saves the new credential (and the server it is for), dropping the other kind. */
async function store(client: Client, cred: { api_key: string } | { token: string }): Promise<void> {
  const { api_key: _k, token: _t, ...rest } = client.config.values;
  const next: CliConfig = { ...rest, api_url: client.settings.apiUrl, ...cred };
  await saveConfig(client.config.path, next);
}

const login: Handler = async (client, { opts }) => {
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
    const { accessToken } = await oidcLoopbackLogin({
      issuer,
      clientId,
      scopes: scopes ?? ['openid', 'email', 'profile'],
      show: (url) => client.log(`Open this address in a browser on this machine to log in:\n\n  ${url}\n`),
      signal: client.signal,
    });
    who = await whoIs(client, { token: accessToken });
    await store(client, { token: accessToken });
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
  return 0;
};

const logout: Handler = async (client) => {
  const { api_key, token, ...rest } = client.config.values;
  if (!api_key && !token) {
    client.log(`No credentials stored in ${client.config.path}.`);
    return 0;
  }
  await saveConfig(client.config.path, rest);
  client.log(
    `Removed the stored ${api_key ? 'API key' : 'token'} from ${client.config.path}.${api_key ? ' The key still works wherever else it is used; `agenttier apikey revoke` ends it.' : ''}`,
  );
  if (client.settings.credentialSource === 'env')
    client.warn('AGENTTIER_API_KEY / AGENTTIER_TOKEN are set in this environment and still log you in');
  return 0;
};

export const loginHandlers: HandlerMap = { '': login };
export const logoutHandlers: HandlerMap = { '': logout };
