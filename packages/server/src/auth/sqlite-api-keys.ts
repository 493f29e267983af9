import type { ApiKeyRecord, ApiKeyStore } from '@agenttier/core';
import { SqliteDatabase } from '../sqlite/sqlite-database.ts';

interface Row {
  body: string;
}

/** API keys in SQLite (a table in the state file locally, in the router's data file on Kubernetes). */
export class SqliteApiKeyStore implements ApiKeyStore {
  private readonly db: SqliteDatabase;

  constructor(path: string) {
    this.db = new SqliteDatabase(
      path,
      `
      CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        owner_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS api_keys_by_owner ON api_keys (owner_id, created_at);
      `,
    );
  }

  async insert(r: ApiKeyRecord): Promise<void> {
    this.db
      .statement('INSERT INTO api_keys (id, hash, owner_id, created_at, body) VALUES (?, ?, ?, ?, ?)')
      .run(r.id, r.hash, r.owner.id, r.createdAt, JSON.stringify(r));
  }

  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.db.statement('SELECT body FROM api_keys WHERE hash = ?').get(hash) as Row | undefined;
    return row ? (JSON.parse(row.body) as ApiKeyRecord) : undefined;
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const row = this.db.statement('SELECT body FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    return row ? (JSON.parse(row.body) as ApiKeyRecord) : undefined;
  }

  async list(ownerId?: string): Promise<ApiKeyRecord[]> {
    const rows = (ownerId === undefined
      ? this.db.statement('SELECT body FROM api_keys ORDER BY created_at, id').all()
      : this.db
          .statement('SELECT body FROM api_keys WHERE owner_id = ? ORDER BY created_at, id')
          .all(ownerId)) as unknown as Row[];
    return rows.map((r) => JSON.parse(r.body) as ApiKeyRecord);
  }

  async remove(id: string): Promise<boolean> {
    return Number(this.db.statement('DELETE FROM api_keys WHERE id = ?').run(id).changes) > 0;
  }

  async touch(id: string, lastUsedAt: string): Promise<void> {
    const current = await this.get(id);
    if (!current) return;
    this.db
      .statement('UPDATE api_keys SET body = ? WHERE id = ?')
      .run(JSON.stringify({ ...current, lastUsedAt }), id);
  }

  close(): void {
    this.db.close();
  }
}
