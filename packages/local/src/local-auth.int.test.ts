/**
 * `agenttier up`'s default: API keys on. The real local platform (SQLite, the Docker engine) refuses
 * callers without a key, accepts the admin key it issues, and refuses --dev-auth off loopback.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startLocalPlatform } from './local-platform.ts';
import type { LocalPlatform } from './local-platform.ts';
import { dockerHost } from './testing/platform.ts';

let dir: string;
let platform: LocalPlatform;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agenttier-auth-'));
  platform = await startLocalPlatform({
    port: 0,
    dataDir: dir,
    dockerHost,
    sandboxd: false,
    logger: pino({ level: 'silent' }),
  });
}, 120_000);
afterAll(async () => {
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local platform with API keys (the default)', () => {
  it('refuses a caller without a key, with a message saying how to get one', async () => {
    const r = await fetch(`${platform.url}/api/v1/sandboxes`);
    expect(r.status).toBe(401);
    const body = (await r.json()) as { code: string; message: string };
    expect(body.code).toBe('UNAUTHENTICATED');
    expect(body.message).toContain('agenttier up');
  });

  it('issues one admin key, accepts it, and keeps it valid across calls', async () => {
    const { key, created } = await platform.ensureAdminKey();
    expect(created).toBe(true);
    expect(await platform.ensureAdminKey(key)).toEqual({ key, created: false });
    const me = await fetch(`${platform.url}/api/v1/user/me`, { headers: { 'x-api-key': key } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: 'admin', isAdmin: true });
    const wrong = await platform.ensureAdminKey('atk_not-a-key');
    expect(wrong.created).toBe(true);
    expect(wrong.key).not.toBe(key);
  });

  it('refuses --dev-auth on a non-loopback address', async () => {
    await expect(
      startLocalPlatform({ host: '0.0.0.0', devAuth: true, dataDir: dir, dockerHost }),
    ).rejects.toThrow(/--dev-auth/);
  });
});

describe('agenttier up --tls-cert/--tls-key', () => {
  /** A self-signed pair for localhost made with openssl in a scratch dir. */
  function selfSigned(into: string): { cert: string; key: string } {
    const cert = join(into, 'cert.pem');
    const key = join(into, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    return { cert, key };
  }

  /** One HTTPS request trusting only `ca`. */
  function httpsCall(
    url: string,
    ca: Buffer,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) {
    return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: init.method ?? 'GET', headers: init.headers ?? {}, ca },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
  }

  it('serves the API over HTTPS only, with Secure __Host- session cookies', async () => {
    const tlsDir = mkdtempSync(join(tmpdir(), 'agenttier-tls-'));
    const pair = selfSigned(tlsDir);
    const secure = await startLocalPlatform({
      port: 0,
      dataDir: join(tlsDir, 'data'),
      dockerHost,
      sandboxd: false,
      logger: pino({ level: 'silent' }),
      tlsCertPath: pair.cert,
      tlsKeyPath: pair.key,
    });
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = readFileSync(pair.cert);
      expect((await httpsCall(`${secure.url}/healthz`, ca)).status).toBe(200);
      // Plain HTTP to the same port gets no API answer.
      await expect(fetch(`${secure.url.replace('https', 'http')}/healthz`)).rejects.toThrow();
      const { key } = await secure.ensureAdminKey();
      expect((await httpsCall(`${secure.url}/api/v1/user/me`, ca)).status).toBe(401);
      expect(
        (await httpsCall(`${secure.url}/api/v1/user/me`, ca, { headers: { 'x-api-key': key } })).status,
      ).toBe(200);
      const login = await httpsCall(`${secure.url}/api/v1/auth/session`, ca, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: secure.url },
        body: JSON.stringify({ apiKey: key }),
      });
      expect(login.status).toBeLessThan(300);
      const cookie = String(login.headers['set-cookie']);
      expect(cookie).toMatch(/^__Host-/);
      expect(cookie).toMatch(/;\s*Secure/i);
      expect(cookie).toMatch(/HttpOnly/i);
    } finally {
      await secure.close();
      rmSync(tlsDir, { recursive: true, force: true });
    }
  });

  it('refuses half a pair and unreadable files with a clear error', async () => {
    await expect(
      startLocalPlatform({ port: 0, dataDir: dir, dockerHost, tlsCertPath: '/nonexistent/cert.pem' }),
    ).rejects.toThrow(/--tls-cert and --tls-key together/);
    await expect(
      startLocalPlatform({
        port: 0,
        dataDir: dir,
        dockerHost,
        tlsCertPath: '/nonexistent/cert.pem',
        tlsKeyPath: '/nonexistent/key.pem',
      }),
    ).rejects.toThrow(/cannot read the TLS certificate/);
  });
});
