/**
 * Where the CLI lets tokens travel, and which login it picks: a provider's endpoints must be https or
 * on this machine, its discovery document must name the issuer asked for, and without a device
 * authorization endpoint `login --oidc` falls back to the loopback-redirect browser login.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli } from '../testing/run-cli.ts';
import { discoverProvider, requireSafeUrl, scopesWithRefresh } from './discovery.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** A provider that serves only a discovery document (what `doc(issuer)` returns). */
async function provider(doc: (issuer: string) => Record<string, unknown>): Promise<string> {
  let issuer = '';
  server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(doc(issuer)));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return issuer;
}

const signal = new AbortController().signal;

describe('OIDC provider discovery for the CLI', () => {
  it('lets tokens go to https or this machine only', () => {
    for (const ok of [
      'https://idp.example.com/token',
      'http://127.0.0.1:9/t',
      'http://[::1]:9/t',
      'http://localhost/t',
    ])
      expect(requireSafeUrl('token_endpoint', ok), ok).toBe(new URL(ok).toString());
    for (const bad of [
      'http://idp.example.com/token',
      'http://127.0.0.1.evil.example/t',
      'javascript:alert(1)',
      'ftp://x/',
      'not a url',
    ])
      expect(() => requireSafeUrl('token_endpoint', bad), bad).toThrow(/OIDC login failed/);
  });

  it('refuses a document for another issuer or with an endpoint elsewhere in plain http', async () => {
    let issuer = await provider(() => ({
      issuer: 'https://other.example',
      token_endpoint: 'https://other.example/t',
    }));
    await expect(discoverProvider(issuer, signal)).rejects.toThrow(/names issuer https:\/\/other\.example/);
    await new Promise((r) => server!.close(r));
    issuer = await provider((iss) => ({ issuer: iss, token_endpoint: 'http://attacker.example/token' }));
    await expect(discoverProvider(issuer, signal)).rejects.toThrow(/neither https nor on this machine/);
    await new Promise((r) => server!.close(r));
    issuer = await provider((iss) => ({
      issuer: iss,
      token_endpoint: `${iss}/token`,
      revocation_endpoint: 'http://attacker.example/revoke',
    }));
    await expect(discoverProvider(issuer, signal)).rejects.toThrow(/revocation_endpoint/);
  });

  it('asks for offline_access only where the provider lists it', async () => {
    const issuer = await provider((iss) => ({ issuer: iss, token_endpoint: `${iss}/token` }));
    const meta = await discoverProvider(issuer, signal);
    expect(scopesWithRefresh(meta, ['openid'])).toEqual(['openid']);
    expect(
      scopesWithRefresh({ ...meta, scopes_supported: ['openid', 'offline_access'] }, ['openid']),
    ).toEqual(['openid', 'offline_access']);
  });

  it('falls back to the loopback-redirect browser login without a device authorization endpoint', async () => {
    const issuer = await provider((iss) => ({
      issuer: iss,
      authorization_endpoint: `${iss}/authorize`,
      token_endpoint: `${iss}/token`,
    }));
    const cli = startCli([
      '--api-url',
      'http://127.0.0.1:9',
      'login',
      '--oidc',
      '--issuer',
      issuer,
      '--client-id',
      'cli',
    ]);
    const [, url] = await cli.waitFor(
      /browser on this machine[\s\S]*?(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/,
    );
    expect(new URL(url!).searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    cli.abort();
    expect(await cli.done).not.toBe(0);
  });
});
