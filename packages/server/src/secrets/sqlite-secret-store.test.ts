import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteSecretStore, loadOrCreateSecretKey } from './sqlite-secret-store.ts';

const VALUE = `sk-${randomBytes(16).toString('hex')}`;
const text = (v: Uint8Array | undefined) => (v ? new TextDecoder().decode(v) : undefined);
const values = (v: string) => new Map([['TOKEN', new TextEncoder().encode(v)]]);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'secret-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteSecretStore', () => {
  it('keeps the database, its journal files and the key at 0600, whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const store = new SqliteSecretStore({
        path: join(dir, 'secrets.db'),
        key: loadOrCreateSecretKey(join(dir, 'secrets.key')),
      });
      await store.put('alice', 'default', 'gh', values(VALUE));
      for (const f of readdirSync(dir))
        expect((statSync(join(dir, f)).mode & 0o777).toString(8), f).toBe('600');
      expect(readdirSync(dir)).toEqual(expect.arrayContaining(['secrets.db', 'secrets.key']));
      store.close();
    } finally {
      process.umask(old);
    }
  });

  it('reuses the key file, tightens a loose one, and refuses one of the wrong size', () => {
    const path = join(dir, 'secrets.key');
    const key = loadOrCreateSecretKey(path);
    expect(loadOrCreateSecretKey(path).equals(key)).toBe(true);
    writeFileSync(path, key, { mode: 0o644 });
    loadOrCreateSecretKey(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileSync(path, 'short');
    expect(() => loadOrCreateSecretKey(path)).toThrow(/32 bytes/);
  });

  it('stores values sealed: the database file alone does not hold them', async () => {
    const path = join(dir, 'secrets.db');
    const store = new SqliteSecretStore({ path, key: randomBytes(32) });
    await store.put('alice', 'default', 'gh', values(VALUE));
    expect(text((await store.values('alice', 'default', 'gh'))?.get('TOKEN'))).toBe(VALUE);
    store.close(); // checkpoints the WAL into the file
    const bytes = readFileSync(path);
    expect(bytes.includes(Buffer.from(VALUE))).toBe(false);
    expect(bytes.includes(Buffer.from(Buffer.from(VALUE).toString('base64')))).toBe(false);
    // With another key, nothing opens.
    const wrongKey = new SqliteSecretStore({ path, key: randomBytes(32) });
    await expect(wrongKey.values('alice', 'default', 'gh')).rejects.toThrow(/cannot be opened/);
    wrongKey.close();
  });

  it("refuses a sealed value moved into another user's row (the seal is bound to owner, namespace, name)", async () => {
    const path = join(dir, 'secrets.db');
    const key = randomBytes(32);
    const store = new SqliteSecretStore({ path, key });
    await store.put('alice', 'default', 'gh', values(VALUE));
    await store.put('mallory', 'default', 'gh', values('mine'));
    // Someone who can write the database file but not read the key swaps Alice's sealed value in.
    const db = new DatabaseSync(path);
    db.exec(`UPDATE secrets SET nonce = (SELECT nonce FROM secrets WHERE owner = 'alice'),
             sealed = (SELECT sealed FROM secrets WHERE owner = 'alice') WHERE owner = 'mallory'`);
    db.close();
    await expect(store.values('mallory', 'default', 'gh')).rejects.toThrow(/cannot be opened/);
    await expect(store.values('mallory', 'default', 'gh')).rejects.not.toThrow(VALUE);
    expect(text((await store.values('alice', 'default', 'gh'))?.get('TOKEN'))).toBe(VALUE);
    store.close();
  });

  it('finds a secret only under its owner, namespace and name', async () => {
    const store = new SqliteSecretStore({ path: ':memory:', key: randomBytes(32) });
    await store.put('alice', 'team', 'gh', values(VALUE));
    expect(await store.values('bob', 'team', 'gh')).toBeUndefined();
    expect(await store.values('alice', 'default', 'gh')).toBeUndefined();
    expect(await store.get('bob', 'team', 'gh')).toBeUndefined();
    expect(await store.list('bob')).toEqual([]);
    expect((await store.list('alice')).map((s) => [s.namespace, s.name, s.keys])).toEqual([
      ['team', 'gh', ['TOKEN']],
    ]);
    expect(await store.count('alice')).toBe(1);
    expect(await store.delete('bob', 'team', 'gh')).toBe(false);
    expect(await store.delete('alice', 'team', 'gh')).toBe(true);
    store.close();
  });
});
