import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { AuditEvent, AuditLog, AuditQuery } from '@agenttier/core';

interface Row {
  id: number;
  body: string;
}

/**
 * The audit trail in SQLite. Bounded: past `maxEvents` the oldest are deleted (a flood of failed
 * logins cannot fill the disk).
 */
export class SqliteAuditLog implements AuditLog {
  private readonly db: DatabaseSync;
  private writes = 0;

  constructor(
    path: string,
    private readonly maxEvents = 1_000_000,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        actor TEXT,
        target TEXT,
        body TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_events (actor, id);
      CREATE INDEX IF NOT EXISTS audit_by_target ON audit_events (target, id);
    `);
  }

  async record(e: Omit<AuditEvent, 'id'>): Promise<void> {
    this.db
      .prepare('INSERT INTO audit_events (actor, target, body) VALUES (?, ?, ?)')
      .run(e.actor ?? null, e.target ?? null, JSON.stringify(e));
    // Trim now and then, not on every write.
    if (++this.writes % 1000 === 0)
      this.db
        .prepare('DELETE FROM audit_events WHERE id <= (SELECT MAX(id) FROM audit_events) - ?')
        .run(this.maxEvents);
  }

  async query(q: AuditQuery): Promise<AuditEvent[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const add = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      args.push(value);
    };
    add('actor = ?', q.actor);
    add('target = ?', q.target);
    add('id < ?', q.beforeId);
    const sql = `SELECT id, body FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit) as unknown as Row[];
    return rows.map((r) => ({ id: r.id, ...(JSON.parse(r.body) as Omit<AuditEvent, 'id'>) }));
  }

  close(): void {
    this.db.close();
  }
}
