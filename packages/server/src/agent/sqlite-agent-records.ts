import type { AgentRecordStore, InvokeRecord, RecordedEvent } from '@agenttier/core';
import { SqliteDatabase } from '../sqlite/sqlite-database.ts';

/**
 * How much recorded output one sandbox may keep in the state file. Each run records at most 32 MiB
 * (agent-service), but runs were kept until the sandbox was deleted: an agent that prints its cap on
 * every run made each ordinary invoke cost the host 32 MiB of the disk the state file lives on, without
 * end. Past the budget the oldest finished runs (record and events) are dropped when a run starts.
 */
export const DEFAULT_INVOKE_RETENTION = {
  maxEventBytesPerSandbox: 256 * 1024 * 1024,
  maxRunsPerSandbox: 200,
};

/**
 * Invocation records and their event streams in SQLite (a table next to the resources, same file).
 * Events are written in batches by the caller; synchronous=NORMAL under WAL survives a process crash,
 * which is the failure that matters for re-attaching to a run.
 */
export class SqliteAgentRecords implements AgentRecordStore {
  private readonly db: SqliteDatabase;

  constructor(
    path: string,
    private readonly retention: {
      maxEventBytesPerSandbox: number;
      maxRunsPerSandbox: number;
    } = DEFAULT_INVOKE_RETENTION,
  ) {
    this.db = new SqliteDatabase(
      path,
      `
      CREATE TABLE IF NOT EXISTS invokes (
        invoke_id TEXT PRIMARY KEY,
        namespace TEXT NOT NULL,
        sandbox TEXT NOT NULL,
        started_at TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS invokes_by_sandbox ON invokes (namespace, sandbox, started_at);
      CREATE TABLE IF NOT EXISTS invoke_events (
        invoke_id TEXT NOT NULL,
        id INTEGER NOT NULL,
        event TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (invoke_id, id)
      );
      CREATE TABLE IF NOT EXISTS install_logs (
        namespace TEXT NOT NULL,
        sandbox TEXT NOT NULL,
        log TEXT NOT NULL,
        PRIMARY KEY (namespace, sandbox)
      );
      `,
      { synchronous: 'NORMAL' },
    );
  }

  async createInvoke(record: InvokeRecord): Promise<void> {
    this.db
      .statement(
        'INSERT INTO invokes (invoke_id, namespace, sandbox, started_at, body) VALUES (?, ?, ?, ?, ?)',
      )
      .run(record.invokeId, record.namespace, record.sandbox, record.startedAt, JSON.stringify(record));
    this.prune(record.namespace, record.sandbox);
  }

  /** Drops the oldest finished runs of a sandbox past its retention budget (see DEFAULT_INVOKE_RETENTION). */
  private prune(namespace: string, sandbox: string): void {
    const runs = this.db
      .statement(
        `SELECT i.invoke_id AS id, json_extract(i.body, '$.state') AS state,
                (SELECT COALESCE(SUM(length(e.data)), 0) FROM invoke_events e WHERE e.invoke_id = i.invoke_id) AS bytes
           FROM invokes i WHERE i.namespace = ? AND i.sandbox = ?
          ORDER BY i.started_at DESC, i.invoke_id DESC`,
      )
      .all(namespace, sandbox) as unknown as Array<{ id: string; state: string; bytes: number }>;
    let kept = 0;
    let bytes = 0;
    const drop: string[] = [];
    for (const r of runs) {
      kept++;
      bytes += r.bytes;
      const over = kept > this.retention.maxRunsPerSandbox || bytes > this.retention.maxEventBytesPerSandbox;
      // The newest run (the one just started) and runs still going are never dropped.
      if (over && kept > 1 && r.state !== 'running') drop.push(r.id);
    }
    if (drop.length === 0) return;
    const events = this.db.statement('DELETE FROM invoke_events WHERE invoke_id = ?');
    const record = this.db.statement('DELETE FROM invokes WHERE invoke_id = ?');
    this.db.transaction(() => {
      for (const id of drop) {
        events.run(id);
        record.run(id);
      }
    });
  }

  async updateInvoke(invokeId: string, patch: Partial<InvokeRecord>): Promise<void> {
    const current = await this.getInvoke(invokeId);
    if (!current) return;
    this.db
      .statement('UPDATE invokes SET body = ? WHERE invoke_id = ?')
      .run(JSON.stringify({ ...current, ...patch }), invokeId);
  }

  async getInvoke(invokeId: string): Promise<InvokeRecord | undefined> {
    const row = this.db.statement('SELECT body FROM invokes WHERE invoke_id = ?').get(invokeId) as
      { body: string } | undefined;
    return row ? (JSON.parse(row.body) as InvokeRecord) : undefined;
  }

  async listInvokes(namespace: string, sandbox: string, limit: number): Promise<InvokeRecord[]> {
    const rows = this.db
      .statement(
        'SELECT body FROM invokes WHERE namespace = ? AND sandbox = ? ORDER BY started_at DESC, invoke_id DESC LIMIT ?',
      )
      .all(namespace, sandbox, limit) as unknown as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as InvokeRecord);
  }

  async appendEvents(invokeId: string, events: RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const stmt = this.db.statement(
      'INSERT OR IGNORE INTO invoke_events (invoke_id, id, event, data) VALUES (?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const e of events) stmt.run(invokeId, e.id, e.event, e.data);
    });
  }

  async readEvents(invokeId: string, afterId: number, limit: number): Promise<RecordedEvent[]> {
    return this.db
      .statement(
        'SELECT id, event, data FROM invoke_events WHERE invoke_id = ? AND id > ? ORDER BY id LIMIT ?',
      )
      .all(invokeId, afterId, limit) as unknown as RecordedEvent[];
  }

  async putInstallLog(namespace: string, sandbox: string, log: string): Promise<void> {
    this.db
      .statement(
        'INSERT INTO install_logs (namespace, sandbox, log) VALUES (?, ?, ?) ON CONFLICT (namespace, sandbox) DO UPDATE SET log = excluded.log',
      )
      .run(namespace, sandbox, log);
  }

  async getInstallLog(namespace: string, sandbox: string): Promise<string | undefined> {
    const row = this.db
      .statement('SELECT log FROM install_logs WHERE namespace = ? AND sandbox = ?')
      .get(namespace, sandbox) as { log: string } | undefined;
    return row?.log;
  }

  async deleteSandbox(namespace: string, sandbox: string): Promise<void> {
    this.db.transaction(() => {
      this.db
        .statement(
          'DELETE FROM invoke_events WHERE invoke_id IN (SELECT invoke_id FROM invokes WHERE namespace = ? AND sandbox = ?)',
        )
        .run(namespace, sandbox);
      this.db.statement('DELETE FROM invokes WHERE namespace = ? AND sandbox = ?').run(namespace, sandbox);
      this.db
        .statement('DELETE FROM install_logs WHERE namespace = ? AND sandbox = ?')
        .run(namespace, sandbox);
    });
  }

  /**
   * Closes the records of runs that were live when the previous process died: their output up to the
   * crash stays replayable, and they end with reason `error`.
   */
  interruptRunning(message: string): number {
    const rows = this.db
      .statement("SELECT body FROM invokes WHERE json_extract(body, '$.state') = 'running'")
      .all() as unknown as Array<{
      body: string;
    }>;
    for (const row of rows) {
      const r = JSON.parse(row.body) as InvokeRecord;
      const finished: InvokeRecord = {
        ...r,
        state: 'finished',
        reason: 'error',
        exitCode: -1,
        message,
        finishedAt: new Date().toISOString(),
      };
      this.db
        .statement('UPDATE invokes SET body = ? WHERE invoke_id = ?')
        .run(JSON.stringify(finished), r.invokeId);
    }
    return rows.length;
  }

  close(): void {
    this.db.close();
  }
}
