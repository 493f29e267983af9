import type { Sandbox, SandboxEvent, SandboxEventType } from '@agenttier/contract';
import type { SandboxEventFeed, SandboxEventInput } from '@agenttier/core';
import { SqliteDatabase } from '../sqlite/sqlite-database.ts';

interface Row {
  id: number;
  type: string;
  reason: string;
  message: string;
  count: number;
  first_at: string;
  last_at: string;
  source: string;
}

export interface SqliteSandboxEventsOpts {
  /** Entries kept per sandbox; the oldest go first. @default 100 */
  maxPerSandbox?: number;
  /** `source` of what `record` writes. @default agenttier-controller */
  source?: string;
  now?: () => number;
}

/** RFC 3339 with whole seconds, as every time of the API. */
const isoSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

const uidOf = (sb: Sandbox) => sb.metadata.uid ?? `${sb.metadata.namespace ?? 'default'}/${sb.metadata.name}`;

/**
 * The local platform's events feed, in the state database: per sandbox uid (a new sandbox of the same
 * name starts empty), a repeat of the newest entry (same type, reason and message) counted on it as
 * Kubernetes does, at most `maxPerSandbox` entries, and nothing left once the sandbox is gone
 * (`forget`, `keepOnly`).
 */
export class SqliteSandboxEvents implements SandboxEventFeed {
  private readonly db: SqliteDatabase;
  private readonly max: number;
  private readonly source: string;
  private readonly now: () => number;

  constructor(path: string, opts: SqliteSandboxEventsOpts = {}) {
    this.max = opts.maxPerSandbox ?? 100;
    this.source = opts.source ?? 'agenttier-controller';
    this.now = opts.now ?? Date.now;
    this.db = new SqliteDatabase(
      path,
      `
      CREATE TABLE IF NOT EXISTS sandbox_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        source TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS sandbox_events_by_uid ON sandbox_events (uid, id);
      `,
    );
  }

  /** Adds an event (synchronous: the controller's pass is never held up by more than one small write). */
  record(sb: Sandbox, e: SandboxEventInput): void {
    const uid = uidOf(sb);
    const at = isoSeconds(this.now());
    const last = this.db
      .statement(
        'SELECT id, type, reason, message FROM sandbox_events WHERE uid = ? ORDER BY id DESC LIMIT 1',
      )
      .get(uid) as Pick<Row, 'id' | 'type' | 'reason' | 'message'> | undefined;
    if (last && last.type === e.type && last.reason === e.reason && last.message === e.message) {
      this.db
        .statement('UPDATE sandbox_events SET count = count + 1, last_at = ? WHERE id = ?')
        .run(at, last.id);
      return;
    }
    this.db
      .statement(
        `INSERT INTO sandbox_events (uid, namespace, name, type, reason, message, count, first_at, last_at, source)
         VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
      )
      .run(
        uid,
        sb.metadata.namespace ?? 'default',
        sb.metadata.name,
        e.type,
        e.reason,
        e.message,
        at,
        at,
        this.source,
      );
    this.db
      .statement(
        `DELETE FROM sandbox_events WHERE uid = ? AND id <= (
           SELECT id FROM sandbox_events WHERE uid = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      )
      .run(uid, uid, this.max);
  }

  async list(sb: Sandbox): Promise<SandboxEvent[]> {
    const rows = this.db
      .statement(
        'SELECT id, type, reason, message, count, first_at, last_at, source FROM sandbox_events WHERE uid = ? ORDER BY id',
      )
      .all(uidOf(sb)) as unknown as Row[];
    return rows.map((r) => ({
      type: r.type as SandboxEventType,
      reason: r.reason,
      message: r.message,
      count: r.count,
      firstTimestamp: r.first_at,
      lastTimestamp: r.last_at,
      source: r.source,
    }));
  }

  /** A sandbox is gone: its events go with it. */
  forget(uid: string): void {
    this.db.statement('DELETE FROM sandbox_events WHERE uid = ?').run(uid);
  }

  /** Drops the events of every sandbox not in `uids` (at start: deletes missed while stopped). */
  keepOnly(uids: ReadonlySet<string>): number {
    const known = this.db.statement('SELECT DISTINCT uid FROM sandbox_events').all() as Array<{
      uid: string;
    }>;
    let dropped = 0;
    for (const { uid } of known) {
      if (uids.has(uid)) continue;
      this.forget(uid);
      dropped++;
    }
    return dropped;
  }

  close(): void {
    this.db.close();
  }
}
