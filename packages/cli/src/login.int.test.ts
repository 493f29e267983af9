/**
 * `agenttier login`, `logout` and `whoami` in-process against the real local platform (API keys on,
 * engine exec only) and, for `--oidc`, a real OpenID provider (`oidc-provider`) on loopback whose
 * login pages the test drives as the user's browser would.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestPlatform } from '@agenttier/local/testing';
import { startTestPlatform, stopTestPlatform } from '@agenttier/local/testing';
import type { TestOidcProvider } from '@agenttier/testkit/oidc';
import { loginAtProvider, newSigningKey, startTestOidcProvider } from '@agenttier/testkit/oidc';
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
        grant_types: ['authorization_code'],
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

describe('agenttier login --oidc (authorization code + PKCE, loopback redirect)', () => {
  it('logs in at the provider announced by the server and stores the access token', async () => {
    const cli = startCli(['--api-url', url, 'login', '--oidc'], { env });
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
    const who = await runCli(['whoami', '-o', 'json'], { env });
    expect(JSON.parse(who.stdout)).toMatchObject({ id: 'alice', authMethod: 'oidc' });
    const table = await runCli(['whoami'], { env });
    expect(table.stdout).toMatch(/OIDC token \(from /);
  });
});
