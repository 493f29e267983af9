import { createHash, randomBytes } from 'node:crypto';
import type { Identity } from '../context.ts';
import { SqliteDatabase } from '../sqlite/sqlite-database.ts';

/** One browser session: who it is and how it was made (an API key's id, or an OIDC login). */
export interface SessionRecord {
  /** SHA-256 (hex) of the cookie value; the value itself is never stored. */
  hash: string;
  identity: Identity;
  /** The API key it was made with: revoking the key ends the session. */
  keyId?: string;
  source: 'api-key' | 'oidc';
  /**
   * SHA-256 (hex) of the session's binding (auth/session-binding.ts): the cookie authenticates only a
   * request that also presents the binding. Sessions stored before bindings existed have none and
   * authenticate nothing.
   */
  bindingHash?: string;
  /** An OIDC login's `sub` and `sid` as the provider names them: a back-channel logout names these. */
  oidcSub?: string;
  oidcSid?: string;
  createdAtMs: number;
  expiresAtMs: number;
}

export interface SessionStoreOpts {
  /** Sessions one user may hold; the oldest is dropped beyond it. @default 50 */
  maxPerUser?: number;
  nowMs?: () => number;
}

/** The cookie value: 32 random bytes, base64url (43 characters). */
export const SESSION_TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'latin1').digest('hex');
}

interface Row {
  body: string;
}

/**
 * Browser sessions in SQLite (the state file locally, the router's data file on Kubernetes), so a
 * restart does not log everyone out and a stolen database holds no usable cookie (only hashes).
 */
export class SqliteSessionStore {
  private readonly db: SqliteDatabase;
  private readonly maxPerUser: number;
  private readonly now: () => number;

  constructor(path: string, opts: SessionStoreOpts = {}) {
    this.maxPerUser = Math.max(1, opts.maxPerUser ?? 50);
    this.now = opts.nowMs ?? Date.now;
    this.db = new SqliteDatabase(
      path,
      `
      CREATE TABLE IF NOT EXISTS browser_sessions (
        hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        key_id TEXT,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS browser_sessions_by_user ON browser_sessions (user_id, created_at_ms);
      CREATE INDEX IF NOT EXISTS browser_sessions_by_key ON browser_sessions (key_id);
      `,
    );
  }

  /** Starts a session; returns the cookie value (shown to the browser once, stored as its hash). */
  create(s: Omit<SessionRecord, 'hash' | 'createdAtMs' | 'expiresAtMs'> & { ttlMs: number }): {
    token: string;
    record: SessionRecord;
  } {
    const token = randomBytes(32).toString('base64url');
    const createdAtMs = this.now();
    const record: SessionRecord = {
      hash: hashSessionToken(token),
      identity: s.identity,
      ...(s.keyId !== undefined ? { keyId: s.keyId } : {}),
      source: s.source,
      ...(s.bindingHash !== undefined ? { bindingHash: s.bindingHash } : {}),
      ...(s.oidcSub !== undefined ? { oidcSub: s.oidcSub } : {}),
      ...(s.oidcSid !== undefined ? { oidcSid: s.oidcSid } : {}),
      createdAtMs,
      expiresAtMs: createdAtMs + s.ttlMs,
    };
    this.db.statement('DELETE FROM browser_sessions WHERE expires_at_ms <= ?').run(createdAtMs);
    this.db
      .statement(
        'INSERT INTO browser_sessions (hash, user_id, key_id, created_at_ms, expires_at_ms, body) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.hash,
        record.identity.sub,
        record.keyId ?? null,
        createdAtMs,
        record.expiresAtMs,
        JSON.stringify(record),
      );
    // Bounded per user: logging in over and over cannot grow the table without end.
    this.db
      .statement(
        `DELETE FROM browser_sessions WHERE user_id = ? AND hash NOT IN
           (SELECT hash FROM browser_sessions WHERE user_id = ? ORDER BY created_at_ms DESC, rowid DESC LIMIT ?)`,
      )
      .run(record.identity.sub, record.identity.sub, this.maxPerUser);
    return { token, record };
  }

  /** The live session a cookie value names, or undefined (unknown, revoked or expired). */
  find(token: string): SessionRecord | undefined {
    if (!SESSION_TOKEN_RE.test(token)) return undefined;
    const row = this.db
      .statement('SELECT body FROM browser_sessions WHERE hash = ?')
      .get(hashSessionToken(token)) as Row | undefined;
    if (!row) return undefined;
    const record = JSON.parse(row.body) as SessionRecord;
    return record.expiresAtMs > this.now() ? record : undefined;
  }

  revoke(token: string): boolean {
    if (!SESSION_TOKEN_RE.test(token)) return false;
    return (
      Number(
        this.db.statement('DELETE FROM browser_sessions WHERE hash = ?').run(hashSessionToken(token)).changes,
      ) > 0
    );
  }

  /** Ends every session made with an API key (the key was revoked). */
  revokeByKey(keyId: string): number {
    return Number(this.db.statement('DELETE FROM browser_sessions WHERE key_id = ?').run(keyId).changes);
  }

  /**
   * Ends OIDC sessions the provider logged out (back-channel logout): the one provider session `sid`
   * names (of that `sub` when given too; sessions recorded without a sid by their `sub`), else every
   * session of `sub`.
   */
  revokeOidc(who: { sub?: string; sid?: string }): number {
    const base = "DELETE FROM browser_sessions WHERE json_extract(body, '$.source') = 'oidc'";
    // A session whose ID token carried no sid can only be named by its sub.
    if (who.sid !== undefined)
      return Number(
        this.db
          .statement(
            `${base} AND (json_extract(body, '$.oidcSid') = ? OR (json_extract(body, '$.oidcSid') IS NULL AND json_extract(body, '$.oidcSub') = ?))
               AND (? IS NULL OR json_extract(body, '$.oidcSub') = ?)`,
          )
          .run(who.sid, who.sub ?? null, who.sub ?? null, who.sub ?? null).changes,
      );
    if (who.sub === undefined) return 0;
    return Number(this.db.statement(`${base} AND json_extract(body, '$.oidcSub') = ?`).run(who.sub).changes);
  }

  count(): number {
    return Number((this.db.statement('SELECT count(*) AS n FROM browser_sessions').get() as { n: number }).n);
  }

  close(): void {
    this.db.close();
  }
}
