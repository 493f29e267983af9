/**
 * `agenttier whoami` and `agenttier apikey` against the real local platform (SQLite key store; the test
 * platform runs with dev auth, so keys presented are still checked): create, use, list and revoke a
 * key end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, stopTestPlatform } from '@agenttier/local/testing';
import type { TestPlatform } from '@agenttier/local/testing';
import { runCli } from './testing/run-cli.ts';

let platform: TestPlatform;
let url: string;
let adminKey: string;

beforeAll(async () => {
  platform = await startTestPlatform({ sandboxd: false });
  url = platform.url;
  adminKey = (await platform.ensureAdminKey()).key;
}, 120_000);
afterAll(() => stopTestPlatform(platform));

const cli = (argv: string[], key?: string) =>
  runCli(argv, { url, env: key ? { AGENTTIER_API_KEY: key } : {} });

describe('agenttier whoami and apikey', () => {
  it('whoami names the key owner; a wrong key is refused, saying how to get one', async () => {
    const me = await cli(['whoami', '-o', 'json'], adminKey);
    expect(me.code, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout)).toEqual({
      id: 'admin',
      name: 'Local admin',
      groups: ['agenttier-admins'],
      isAdmin: true,
    });
    const anon = await cli(['whoami'], `atk_${'0'.repeat(43)}`);
    expect(anon.code).not.toBe(0);
    expect(anon.stderr).toContain('X-API-Key');
  });

  it('creates a key shown once, lists it without the key, and revokes it at once', async () => {
    const created = await cli(['apikey', 'create', 'ci', '--expires-in-days', '7'], adminKey);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^atk_[0-9A-Za-z]{43}$/);
    expect(created.stderr).toContain('shown once');
    expect((await cli(['whoami'], key)).code).toBe(0);
    const listed = await cli(['apikey', 'list', '-o', 'json'], adminKey);
    const items = JSON.parse(listed.stdout) as Array<{ id: string; name: string }>;
    expect(items.map((k) => k.name).sort()).toEqual(['ci', 'local admin (agenttier up)']);
    expect(listed.stdout).not.toContain(key.slice(4));
    const id = items.find((k) => k.name === 'ci')!.id;
    const revoked = await cli(['apikey', 'revoke', id], adminKey);
    expect(revoked.code, revoked.stderr).toBe(0);
    const after = await cli(['whoami'], key);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('revoked');
  });
});
