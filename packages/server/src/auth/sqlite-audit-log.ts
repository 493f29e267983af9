import type { AuditEvent, AuditLog, AuditQuery } from '@agenttier/core';
import { SqliteDatabase } from '../sqlite/sqlite-database.ts';

interface Row {
  id: number;
  body: string;
}

/** How long and how much of the trail is kept (docs/auth.md, "Audit trail"). */
export interface AuditRetentionOpts {
  /** Newest events kept; older ones are deleted. @default 1,000,000 */
  maxEvents?: number;
  /** Events older than this are deleted; 0 keeps them until `maxEvents`. @default 90 days */
  maxAgeDays?: number;
  nowMs?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Retention from `AGENTTIER_AUDIT_MAX_EVENTS` and `AGENTTIER_AUDIT_MAX_AGE_DAYS` (unset: defaults). */
export function auditRetentionFromEnv(env: Record<string, string | undefined>): AuditRetentionOpts {
  const num = (name: string, min: number): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`${name} must be a whole number >= ${min} (got ${JSON.stringify(v)})`);
    return n;
  };
  const maxEvents = num('AGENTTIER_AUDIT_MAX_EVENTS', 1);
  const maxAgeDays = num('AGENTTIER_AUDIT_MAX_AGE_DAYS', 0);
  return {
    ...(maxEvents !== undefined ? { maxEvents } : {}),
    ...(maxAgeDays !== undefined ? { maxAgeDays } : {}),
  };
}

/**
 * The audit trail in SQLite. Bounded: past `maxEvents` the oldest are deleted (a flood of failed
 * logins cannot fill the disk), and events older than `maxAgeDays` go too. Trimmed at start, every
 * 1,000 writes and at most hourly otherwise (on the next write).
 */
export class SqliteAuditLog implements AuditLog {
  private readonly db: SqliteDatabase;
  private writes = 0;
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private trimmedAtMs = 0;

  constructor(path: string, retention: AuditRetentionOpts = {}) {
    this.maxEvents = retention.maxEvents ?? 1_000_000;
    this.maxAgeMs = (retention.maxAgeDays ?? 90) * DAY_MS;
    this.now = retention.nowMs ?? Date.now;
    if (!(this.maxEvents >= 1) || !(this.maxAgeMs >= 0))
      throw new Error('audit retention: maxEvents must be at least 1 and maxAgeDays at least 0');
    this.db = new SqliteDatabase(
      path,
      `
      CREATE TABLE IF NOT EXISTS audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        actor TEXT,
        target TEXT,
        body TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_events (actor, id);
      CREATE INDEX IF NOT EXISTS audit_by_target ON audit_events (target, id);
      `,
      // One event per state-changing call, exec included: under FULL each was an fsync on the event
      // loop (1-2 ms median, over 100 ms on a busy disk), which made every exec wait for the one before
      // it (bench/README.md, exec round trip vs ab7378b). NORMAL keeps every event through a crash or
      // kill of the router; only an OS crash or power loss can drop the last ones.
      { synchronous: 'NORMAL' },
    );
    this.trim();
  }

  async record(e: Omit<AuditEvent, 'id'>): Promise<void> {
    this.db
      .statement('INSERT INTO audit_events (actor, target, body) VALUES (?, ?, ?)')
      .run(e.actor ?? null, e.target ?? null, JSON.stringify(e));
    // Trim now and then, not on every write.
    if (++this.writes % 1000 === 0 || this.now() - this.trimmedAtMs >= 60 * 60 * 1000) this.trim();
  }

  /** Deletes events past the count and age limits. */
  trim(): void {
    this.trimmedAtMs = this.now();
    this.db
      .statement('DELETE FROM audit_events WHERE id <= (SELECT MAX(id) FROM audit_events) - ?')
      .run(this.maxEvents);
    if (this.maxAgeMs > 0) {
      // RFC 3339 UTC strings of one format compare in time order.
      const cutoff = new Date(this.now() - this.maxAgeMs).toISOString();
      this.db.statement("DELETE FROM audit_events WHERE json_extract(body, '$.at') < ?").run(cutoff);
    }
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
    const rows = this.db.statement(sql).all(...args, q.limit) as unknown as Row[];
    return rows.map((r) => ({ id: r.id, ...(JSON.parse(r.body) as Omit<AuditEvent, 'id'>) }));
  }

  close(): void {
    this.db.close();
  }
}
