/**
 * `agenttier login`, `logout` and `whoami` in-process against the real local platform (API keys on,
 * engine exec only) and, for `--oidc`, a real OpenID provider (`oidc-provider`) on loopback whose
 * login pages the test drives as the user's browser would: the device authorization grant (the
 * provider offers it, so it is the default), the loopback-redirect browser login (`--browser`), refresh
 * of an expired stored token, and `logout` revoking the refresh token at the provider.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestPlatform } from '@agenttier/local/testing';
import { startTestPlatform, stopTestPlatform } from '@agenttier/local/testing';
import type { TestOidcProvider } from '@agenttier/testkit/oidc';
import {
  approveDeviceAtProvider,
  loginAtProvider,
  newSigningKey,
  startTestOidcProvider,
} from '@agenttier/testkit/oidc';
import { runCli, scratch, startCli } from './testing/run-cli.ts';

const AUD = 'https://agenttier.test/api';
let idp: TestOidcProvider;
let platform: TestPlatform;
let url: string;
let home: { dir: string; cleanup(): Promise<void> };
let env: Record<string, string>;
let aliceKey: string;

beforeAll(async () => {
  idp = await startTestOidcProvider({
    audience: AUD,
    keys: [await newSigningKey('RS256', 'cli-1')],
    clients: [
      {
        client_id: 'agenttier-cli',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
    ],
    accounts: { alice: { email: 'alice@example.test', groups: ['dev'] } },
  });
  platform = await startTestPlatform({
    devAuth: false,
    sandboxd: false,
    oidc: {
      issuer: idp.issuer,
      audience: [AUD],
      cliClientId: 'agenttier-cli',
      scopes: ['openid', 'email', 'profile', 'groups'],
    },
  });
  url = platform.url;
  aliceKey = (await platform.ensureAdminKey()).key;
});
afterAll(async () => {
  await stopTestPlatform(platform);
  await idp.close();
});
beforeEach(async () => {
  await home?.cleanup();
  home = await scratch();
  env = { AGENTTIER_CONFIG: join(home.dir, 'config.json') };
});

const config = async () =>
  JSON.parse(await readFile(env.AGENTTIER_CONFIG!, 'utf8')) as Record<string, string>;

describe('agenttier login with an API key', () => {
  it('checks the key with the server, stores it 0600 and whoami says where it came from', async () => {
    const r = await runCli(['--api-url', url, 'login', '--api-key', aliceKey], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Logged in to');
    expect(await config()).toEqual({ api_url: url, api_key: aliceKey });
    expect((await stat(env.AGENTTIER_CONFIG!)).mode & 0o777).toBe(0o600);
    const who = await runCli(['whoami'], { env });
    expect(who.stdout).toMatch(/User:\s+admin/);
    expect(who.stdout).toMatch(/API key \(from .*config\.json\)/);
  });

  it('reads a pasted key from stdin', async () => {
    const r = await runCli(['--api-url', url, 'login'], { env, stdin: `${aliceKey}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect((await config()).api_key).toBe(aliceKey);
  });

  it('a wrong key is refused by the server and nothing is stored', async () => {
    const r = await runCli(['--api-url', url, 'login', '--api-key', `atk_${'1'.repeat(43)}`], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/UNAUTHENTICATED|unknown or revoked/);
    await expect(stat(env.AGENTTIER_CONFIG!)).rejects.toThrow();
  });

  it('logout removes the stored credentials; whoami then has none', async () => {
    await runCli(['--api-url', url, 'login', '--api-key', aliceKey], { env });
    const out = await runCli(['logout'], { env });
    expect(out.code).toBe(0);
    expect(await config()).toEqual({ api_url: url });
    const who = await runCli(['whoami'], { env });
    expect(who.code).not.toBe(0);
  });
});

describe('agenttier login --oidc --browser (authorization code + PKCE, loopback redirect)', () => {
  it('logs in at the provider announced by the server and stores the access token', async () => {
    const cli = startCli(['--api-url', url, 'login', '--oidc', '--browser'], { env });
    const [, authorize] = await cli.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m);
    const redirectUri = new URL(authorize!).searchParams.get('redirect_uri')!;
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const callback = await loginAtProvider(authorize!, 'alice', redirectUri);
    // Another page sending the browser to the loopback port with a made-up state gets nowhere.
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged');
    expect((await fetch(forged)).status).toBe(400);
    expect((await fetch(callback)).status).toBe(200);
    expect(await cli.done, cli.stderr.text).toBe(0);
    const saved = await config();
    expect(saved.token).toMatch(/^eyJ/);
    expect(saved.api_key).toBeUndefined();
    // offline_access was asked for (with prompt=consent): a refresh token, with where it came from.
    expect(new URL(authorize!).searchParams.get('scope')).toContain('offline_access');
    expect(saved).toMatchObject({ oidc_issuer: idp.issuer, oidc_client_id: 'agenttier-cli' });
    expect(saved.refresh_token).toBeTruthy();
    const who = await runCli(['whoami', '-o', 'json'], { env });
    expect(JSON.parse(who.stdout)).toMatchObject({ id: 'alice', authMethod: 'oidc' });
    const table = await runCli(['whoami'], { env });
    expect(table.stdout).toMatch(/OIDC token \(from /);
  });
});

/** `login --oidc` with the device grant, confirmed at the provider as `alice`; returns the saved config. */
async function deviceLogin(): Promise<Record<string, string>> {
  const cli = startCli(['--api-url', url, 'login', '--oidc'], { env });
  const [, complete] = await cli.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+)$/m);
  await approveDeviceAtProvider(complete!, 'alice');
  // The CLI polls at the provider's interval (RFC 8628; 5 s when it names none).
  expect(await cli.done, cli.stderr.text).toBe(0);
  return config();
}

describe('agenttier login --oidc (device authorization grant, refresh, revocation)', () => {
  it('uses the device grant the provider offers; stores access and refresh token 0600', async () => {
    const saved = await deviceLogin();
    expect(saved.token).toMatch(/^eyJ/);
    expect(saved.refresh_token).toBeTruthy();
    expect(Date.parse(saved.token_expires_at!)).toBeGreaterThan(Date.now());
    expect(saved).toMatchObject({ api_url: url, oidc_issuer: idp.issuer, oidc_client_id: 'agenttier-cli' });
    expect((await stat(env.AGENTTIER_CONFIG!)).mode & 0o777).toBe(0o600);
    const who = await runCli(['whoami', '-o', 'json'], { env });
    expect(JSON.parse(who.stdout)).toMatchObject({ id: 'alice', authMethod: 'oidc' });
  }, 60_000);

  it('a declined login fails and stores nothing', async () => {
    const cli = startCli(['--api-url', url, 'login', '--oidc'], { env });
    const [, complete] = await cli.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+)$/m);
    await approveDeviceAtProvider(complete!, 'alice', { decline: true });
    expect(await cli.done).not.toBe(0);
    expect(cli.stderr.text).toMatch(/declined/);
    await expect(stat(env.AGENTTIER_CONFIG!)).rejects.toThrow();
  }, 60_000);

  it('renews an expired stored token with the refresh token (rotated, saved) before the command', async () => {
    const saved = await deviceLogin();
    // The stored token has expired (and, to prove the new one is used, no longer works at all).
    await writeFile(
      env.AGENTTIER_CONFIG!,
      JSON.stringify({
        ...saved,
        token: 'expired.not.valid',
        token_expires_at: new Date(Date.now() - 1000).toISOString(),
      }),
      { mode: 0o600 },
    );
    const who = await runCli(['whoami', '-o', 'json'], { env });
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ id: 'alice', authMethod: 'oidc' });
    const after = await config();
    expect(after.token).toMatch(/^eyJ/);
    expect(after.refresh_token).toBeTruthy();
    expect(after.refresh_token).not.toBe(saved.refresh_token); // a public client's refresh token rotates
    expect(Date.parse(after.token_expires_at!)).toBeGreaterThan(Date.now());
    expect((await stat(env.AGENTTIER_CONFIG!)).mode & 0o777).toBe(0o600);
    // A token that has not expired is used as it is: no refresh.
    expect((await runCli(['whoami'], { env })).code).toBe(0);
    expect((await config()).refresh_token).toBe(after.refresh_token);
    // A refresh the provider refuses is a warning that says what to do; the old token is then tried.
    await writeFile(
      env.AGENTTIER_CONFIG!,
      JSON.stringify({ ...after, refresh_token: 'made-up', token_expires_at: '2000-01-01T00:00:00Z' }),
      { mode: 0o600 },
    );
    const refused = await runCli(['whoami'], { env });
    expect(refused.stderr).toMatch(/could not be refreshed.*invalid_grant[\s\S]*agenttier login --oidc/);
  }, 60_000);

  it('logout revokes the refresh token at the provider, then forgets everything', async () => {
    const saved = await deviceLogin();
    const out = await runCli(['logout'], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/Revoked the refresh token/);
    expect(await config()).toEqual({ api_url: url });
    // The revoked refresh token no longer gets a token at the provider.
    const res = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: saved.refresh_token!,
        client_id: 'agenttier-cli',
      }),
    });
    expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
  }, 60_000);
});
