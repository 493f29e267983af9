/**
 * A real OpenID provider (the certified `oidc-provider` package) on loopback for tests: client
 * credentials, authorization code + PKCE, the device authorization grant (RFC 8628), refresh tokens
 * (`offline_access`) and revocation (RFC 7009); JWT access tokens for one API audience, signing keys
 * the test owns (to rotate them, or to sign crafted tokens with the provider's own key).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';

export interface TestSigningKey {
  /** Private JWK with kid and alg (what the provider signs with). */
  jwk: JWK;
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
}

export async function newSigningKey(alg: 'RS256' | 'ES256', kid: string): Promise<TestSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { jwk, kid, alg, privateKey, publicKey };
}

export interface TestAccount {
  email?: string;
  name?: string;
  groups?: string[];
}

export interface TestOidcProviderOpts {
  /** The API's audience in access tokens. */
  audience: string;
  /** Keys, first one signs. */
  keys: TestSigningKey[];
  clients: ClientMetadata[];
  /** Users for the login form (any login name works; these get claims). */
  accounts?: Record<string, TestAccount>;
  /** Groups put into client-credentials access tokens, by client id. */
  clientGroups?: Record<string, string[]>;
}

export interface TestOidcProvider {
  issuer: string;
  port: number;
  /** Swaps the signing keys (first signs) as a provider does when it rotates; tokens issued so far stay valid as long as their key is listed. */
  rotate(keys: TestSigningKey[]): void;
  /** A JWT access token for `clientId` (client credentials grant, client_secret_basic). */
  clientCredentialsToken(clientId: string, secret: string): Promise<string>;
  /** Requests to the discovery document and JWKS so far. */
  readonly jwksRequests: number;
  close(): Promise<void>;
}

function buildProvider(issuer: string, o: TestOidcProviderOpts, keys: TestSigningKey[]): Provider {
  const resourceServer = {
    scope: 'api',
    audience: o.audience,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: keys[0]!.alg } },
  };
  // The provider announces its development defaults on every construction; tests rotate often.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider WARNING')) warn(...args);
  };
  const provider = new Provider(issuer, {
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      AuthorizationCode: 60,
      DeviceCode: 600,
      RefreshToken: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
    // ID tokens are signed with the current first key's algorithm (the default, RS256, needs an RSA key).
    clients: o.clients.map((c) => ({ id_token_signed_response_alg: keys[0]!.alg, ...c })),
    jwks: { keys: keys.map((k) => k.jwk) as never },
    conformIdTokenClaims: false, // the ID token carries email and groups (not only /userinfo)
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups', 'api', 'offline_access'],
    pkce: { required: () => true },
    // The provider's own SSRF guard refuses loopback; its outgoing calls here (back-channel logout)
    // go to the test's router on 127.0.0.1, and only there.
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      const { dispatcher: _guard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      const host = new URL(input instanceof Request ? input.url : input).hostname;
      return fetch(input, host === 'localhost' || host === '127.0.0.1' ? rest : init);
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => o.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => resourceServer,
      },
    },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, ...(o.accounts?.[id] ?? {}) }),
    }),
    extraTokenClaims: (_ctx, token) => {
      const t = token as { clientId?: string; accountId?: string; kind?: string };
      if (t.accountId) return { groups: o.accounts?.[t.accountId]?.groups ?? [] };
      return { groups: o.clientGroups?.[t.clientId ?? ''] ?? [] };
    },
  });
  console.warn = warn;
  provider.on('server_error', (_ctx, err) => {
    console.error('oidc-provider server_error', err);
  });
  provider.on('backchannel.error', (_ctx, err, client) => {
    console.error(`oidc-provider back-channel logout to ${client.clientId} failed`, err);
  });
  return provider;
}

export async function startTestOidcProvider(o: TestOidcProviderOpts): Promise<TestOidcProvider> {
  let current: Provider | undefined;
  let jwksRequests = 0;
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/jwks')) jwksRequests++;
    void current!.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  current = buildProvider(issuer, o, o.keys);
  return {
    issuer,
    port,
    rotate(keys) {
      current = buildProvider(issuer, o, keys);
    },
    async clientCredentialsToken(clientId, secret) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource: o.audience }),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token)
        throw new Error(`client credentials grant failed: ${res.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * `fetch` as a browser at the provider: sends and keeps its cookies in `jar`, and leaves redirects to
 * the caller (each hop may set cookies the next one needs).
 */
function fetchWithJar(jar: Map<string, string>): (url: string, init: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  };
}

function noFormError(status: number, html: string): Error {
  return new Error(
    `the provider answered ${status} without a form: ${html.replace(/<style[\s\S]*<\/style>/, '').slice(0, 1500)}`,
  );
}

/**
 * Drives the provider's own login and consent pages as a browser would (redirects, its cookies,
 * posting its forms) from `authorizeUrl` until it redirects to a URL starting with `redirectPrefix`,
 * which is returned (the callback with `code` and `state`). Any login name works at this provider.
 */
export async function loginAtProvider(
  authorizeUrl: string,
  loginName: string,
  redirectPrefix: string,
  /** The browser's cookies at the provider: pass the same map to `logoutAtProvider` later. */
  jar: Map<string, string> = new Map(),
): Promise<string> {
  const browse = fetchWithJar(jar);
  let url = authorizeUrl;
  let init: RequestInit = {};
  for (let step = 0; step < 20; step++) {
    const res = await browse(url, init);
    init = {};
    const location = res.headers.get('location');
    if (location) {
      const next = new URL(location, url).toString();
      if (next.startsWith(redirectPrefix)) return next;
      url = next;
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw noFormError(res.status, html);
    url = new URL(action.replace(/&amp;/g, '&'), url).toString();
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt, login: loginName, password: 'any' }).toString(),
    };
  }
  throw new Error('the provider did not finish the login in 20 steps');
}

/** The named fields of the first form on a page (hidden inputs and the like), and where it posts. */
function formOf(html: string, base: string): { action: string; fields: Record<string, string> } | undefined {
  const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) return undefined;
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1];
    if (name && value !== undefined) fields[name] = value.replace(/&amp;/g, '&');
  }
  return { action: new URL(form[1]!.replace(/&amp;/g, '&'), base).toString(), fields };
}

/**
 * Confirms a device login (RFC 8628) as the user would in a browser: opens `verificationUriComplete`,
 * confirms the code, logs in as `loginName` and consents, until the provider shows its success page.
 * `decline` aborts at the confirmation step instead.
 */
export async function approveDeviceAtProvider(
  verificationUriComplete: string,
  loginName: string,
  opts: { decline?: boolean } = {},
): Promise<void> {
  const jar = new Map<string, string>();
  const browse = fetchWithJar(jar);
  let url = verificationUriComplete;
  let init: RequestInit = {};
  for (let step = 0; step < 20; step++) {
    const res = await browse(url, init);
    init = {};
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).toString();
      continue;
    }
    const html = await res.text();
    if (/Sign-in Success/.test(html)) return;
    if (opts.decline && /<title>Sign-in<\/title>/.test(html) && /aborted|interrupted/i.test(html)) return;
    const form = formOf(html, url);
    if (!form) throw noFormError(res.status, html);
    const fields: Record<string, string> = { ...form.fields };
    if (fields.confirm === 'yes' && opts.decline) {
      delete fields.confirm;
      fields.abort = 'yes';
    }
    if (fields.prompt) Object.assign(fields, { login: loginName, password: 'any' });
    url = form.action;
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    };
  }
  throw new Error('the provider did not finish the device login in 20 steps');
}

/**
 * Logs the browser whose provider cookies are in `jar` out at the provider (RP-initiated logout page,
 * "Yes, sign me out"), which makes the provider send back-channel logout tokens to the clients that
 * registered a `backchannel_logout_uri`. Resolves once the provider has finished (it awaits those calls).
 */
export async function logoutAtProvider(issuer: string, jar: Map<string, string>): Promise<void> {
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const page = await fetch(`${issuer}/session/end`, { headers: { cookie: cookie() }, redirect: 'manual' });
  const html = await page.text();
  const form = formOf(html, `${issuer}/session/end`);
  if (!form)
    throw new Error(`the provider's logout page has no form (${page.status}): ${html.slice(0, 500)}`);
  const res = await fetch(form.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form.fields, logout: 'yes' }).toString(),
  });
  if (res.status >= 400)
    throw new Error(`the provider refused the logout: ${res.status} ${await res.text()}`);
}
