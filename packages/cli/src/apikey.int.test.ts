/**
 * `agenttier whoami` and `agenttier apikey` against the real local platform (SQLite key store; the test
 * platform runs with dev auth, so keys presented are still checked): create, use, list and revoke a
 * key end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, stopTestPlatform, testNamespace } from '@agenttier/local/testing';
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
afterAll(() => stopTestPlatform(platform, { namespace: ns }));

const ns = testNamespace('it-keys');
const cli = (argv: string[], key?: string) =>
  runCli(argv, { url, env: { AGENTTIER_NAMESPACE: ns, ...(key ? { AGENTTIER_API_KEY: key } : {}) } });

describe('agenttier whoami and apikey', () => {
  it('whoami names the key owner; a wrong key is refused, saying how to get one', async () => {
    const me = await cli(['whoami', '-o', 'json'], adminKey);
    expect(me.code, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout)).toEqual({
      id: 'admin',
      sub: 'admin',
      name: 'Local admin',
      groups: ['agenttier-admins'],
      isAdmin: true,
      authMethod: 'api-key',
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

describe('sandbox-scoped keys and sharing through the CLI', () => {
  it('a scoped key does only its verbs on its sandbox; sharing shows in lists and revokes at once', async () => {
    const userKey = async (id: string): Promise<string> => {
      const r = await fetch(`${url}/api/v1/user/api-keys`, {
        method: 'POST',
        headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
        body: JSON.stringify({ name: id, user: { id } }),
      });
      expect(r.status).toBe(201);
      return ((await r.json()) as { key: string }).key;
    };
    const alice = await userKey('alice');
    const bob = await userKey('bob');
    const name = `keys-${Date.now().toString(36)}`;
    const created = await cli(['sandbox', 'create', name, '--template', 'general-coding'], alice);
    expect(created.code, created.stderr).toBe(0);
    try {
      const minted = await cli(
        ['apikey', 'create', 'agent', '--sandbox', name, '--verbs', 'read,exec'],
        alice,
      );
      expect(minted.code, minted.stderr).toBe(0);
      const scoped = minted.stdout.trim();
      const me = await cli(['whoami'], scoped);
      expect(me.stdout).toContain(`${ns}/${name}: read, exec`);
      const get = await cli(['sandbox', 'get', name, '-o', 'json'], scoped);
      expect(get.code, get.stderr).toBe(0);
      const list = await cli(['sandbox', 'list'], scoped);
      expect(list.code).not.toBe(0);
      expect(list.stderr).toContain(`limited to sandbox ${ns}/${name}`);
      const half = await cli(['apikey', 'create', 'x', '--sandbox', name], alice);
      expect(half.code).not.toBe(0);
      expect(half.stderr).toContain('--sandbox and --verbs go together');

      expect((await cli(['sandbox', 'list', '-o', 'json'], bob)).stdout.trim()).toBe('[]');
      const shared = await cli(['sandbox', 'share', name, 'bob', '--role', 'viewer'], alice);
      expect(shared.code, shared.stderr).toBe(0);
      const bobList = await cli(['sandbox', 'list'], bob);
      expect(bobList.stdout).toMatch(new RegExp(`${name}.*viewer`));
      const shares = await cli(['sandbox', 'shares', name, '-o', 'json'], alice);
      expect(JSON.parse(shares.stdout)).toMatchObject([{ user: 'bob', role: 'viewer', sharedBy: 'alice' }]);
      const stop = await cli(['sandbox', 'stop', name, '--no-wait'], bob);
      expect(stop.code).not.toBe(0);
      expect(stop.stderr).toContain('viewer');
      expect((await cli(['sandbox', 'unshare', name, 'bob'], alice)).code).toBe(0);
      expect((await cli(['sandbox', 'get', name], bob)).code).not.toBe(0);
    } finally {
      await cli(['sandbox', 'delete', name, '--no-wait'], alice);
    }
  });
});
