import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteDatabase } from './sqlite-database.ts';

const SCHEMA = 'CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);';
const dir = mkdtempSync(join(tmpdir(), 'agenttier-sqlite-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteDatabase', () => {
  it('compiles each statement once and reuses it', () => {
    const db = new SqliteDatabase(':memory:', SCHEMA);
    const insert = db.statement('INSERT INTO kv (k, v) VALUES (?, ?)');
    expect(db.statement('INSERT INTO kv (k, v) VALUES (?, ?)')).toBe(insert);
    insert.run('a', '1');
    db.statement('INSERT INTO kv (k, v) VALUES (?, ?)').run('b', '2');
    expect(db.statement('SELECT count(*) AS n FROM kv').get()).toEqual({ n: 2 });
    db.close();
  });

  it('commits a transaction that returns and rolls back one that throws', () => {
    const db = new SqliteDatabase(':memory:', SCHEMA);
    const insert = db.statement('INSERT INTO kv (k, v) VALUES (?, ?)');
    expect(db.transaction(() => insert.run('kept', '1').changes)).toBe(1);
    expect(() =>
      db.transaction(() => {
        insert.run('lost', '2');
        insert.run('kept', 'duplicate key');
      }),
    ).toThrow(/UNIQUE/);
    expect(db.statement('SELECT k FROM kv ORDER BY k').all()).toEqual([{ k: 'kept' }]);
    db.close();
  });

  it('creates the directory, keeps the data across opens, and closes once', () => {
    const path = join(dir, 'nested', 'state.db');
    const first = new SqliteDatabase(path, SCHEMA, { synchronous: 'NORMAL' });
    first.statement('INSERT INTO kv (k, v) VALUES (?, ?)').run('a', '1');
    first.close();
    first.close();
    const second = new SqliteDatabase(path, SCHEMA);
    expect(second.statement('SELECT v FROM kv WHERE k = ?').get('a')).toEqual({ v: '1' });
    expect(second.statement('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    second.close();
  });
});
