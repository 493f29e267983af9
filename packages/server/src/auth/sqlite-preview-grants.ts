import { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import type { PreviewGrant, PreviewGrantKind, PreviewGrantStore } from './preview-sessions.ts';

interface Row {
  body: string;
}

/**
 * Preview links and preview sessions in SQLite (the state file locally, the router's data file on
 * Kubernetes), so a router restart does not end the browser sessions on previews nor the links just
 * handed out. Only the SHA-256 of each secret is stored. A link is spent by one `DELETE … RETURNING`:
 * two presentations, even from two router processes on the same file, cannot both get it.
 */
export class SqlitePreviewGrantStore implements PreviewGrantStore {
  private readonly db: SqliteDatabase;

  constructor(path: string) {
    this.db = new SqliteDatabase(
      path,
      `
      CREATE TABLE IF NOT EXISTS preview_grants (
        kind TEXT NOT NULL,
        hash TEXT NOT NULL,
        key_id TEXT,
        expires_at_ms INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (kind, hash)
      );
      CREATE INDEX IF NOT EXISTS preview_grants_by_key ON preview_grants (key_id);
      CREATE INDEX IF NOT EXISTS preview_grants_by_expiry ON preview_grants (kind, expires_at_ms);
      `,
    );
  }

  put(kind: PreviewGrantKind, hash: string, grant: PreviewGrant, max: number, nowMs: number): void {
    this.db.transaction(() => {
      this.db.statement('DELETE FROM preview_grants WHERE expires_at_ms <= ?').run(nowMs);
      this.db
        .statement(
          'INSERT OR REPLACE INTO preview_grants (kind, hash, key_id, expires_at_ms, body) VALUES (?, ?, ?, ?, ?)',
        )
        .run(kind, hash, grant.who.keyId ?? null, grant.expiresAtMs, JSON.stringify(grant));
      // Bounded like the memory store: minting over and over cannot grow the file without end.
      this.db
        .statement(
          `DELETE FROM preview_grants WHERE kind = ? AND rowid NOT IN
             (SELECT rowid FROM preview_grants WHERE kind = ? ORDER BY rowid DESC LIMIT ?)`,
        )
        .run(kind, kind, Math.max(1, max));
    });
  }

  take(kind: PreviewGrantKind, hash: string, nowMs: number): PreviewGrant | undefined {
    const row = this.db
      .statement('DELETE FROM preview_grants WHERE kind = ? AND hash = ? RETURNING body')
      .get(kind, hash) as Row | undefined;
    return this.live(row, nowMs);
  }

  get(kind: PreviewGrantKind, hash: string, nowMs: number): PreviewGrant | undefined {
    const row = this.db
      .statement('SELECT body FROM preview_grants WHERE kind = ? AND hash = ?')
      .get(kind, hash) as Row | undefined;
    return this.live(row, nowMs);
  }

  deleteByKey(keyId: string): void {
    this.db.statement('DELETE FROM preview_grants WHERE key_id = ?').run(keyId);
  }

  count(kind: PreviewGrantKind): number {
    return Number(
      (
        this.db.statement('SELECT count(*) AS n FROM preview_grants WHERE kind = ?').get(kind) as {
          n: number;
        }
      ).n,
    );
  }

  close(): void {
    this.db.close();
  }

  private live(row: Row | undefined, nowMs: number): PreviewGrant | undefined {
    if (!row) return undefined;
    const grant = JSON.parse(row.body) as PreviewGrant;
    return grant.expiresAtMs > nowMs ? grant : undefined;
  }
}
