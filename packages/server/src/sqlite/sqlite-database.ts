import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export interface SqliteDatabaseOpts {
  /**
   * `PRAGMA synchronous` under WAL: `FULL` loses nothing acknowledged on power loss, `NORMAL` on a
   * process crash (cheaper per write). @default SQLite's own (FULL)
   */
  synchronous?: 'FULL' | 'NORMAL';
}

/**
 * One SQLite file (or `:memory:`) opened as the router's stores use it: WAL, a 5 s busy timeout, the
 * caller's schema applied, and every statement compiled once. Compiling costs more than running a
 * keyed read (a few µs), and each store runs the same few statements on every request; the statement
 * texts are fixed strings, so the cache stays as small as the store's code.
 */
export class SqliteDatabase {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  /** `schema`: `CREATE … IF NOT EXISTS` statements, run on every open. */
  constructor(path: string, schema: string, opts: SqliteDatabaseOpts = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      ${opts.synchronous ? `PRAGMA synchronous = ${opts.synchronous};` : ''}
      PRAGMA busy_timeout = 5000;
      ${schema}
    `);
  }

  /** The compiled statement for `sql`: compiled on first use, then reused. */
  statement(sql: string): StatementSync {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Closes the file; a second call does nothing. */
  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
