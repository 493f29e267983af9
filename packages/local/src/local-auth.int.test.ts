/**
 * `agenttier up`'s default: API keys on. The real local platform (SQLite, the Docker engine) refuses
 * callers without a key, accepts the admin key it issues, and refuses --dev-auth off loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
