import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { PlatformError } from '@agenttier/contract';
import type { SecretMeta, SecretStore } from '@agenttier/core';
import { SqliteDatabase } from '../sqlite/sqlite-database.ts';

interface Row {
  owner: string;
  namespace: string;
  name: string;
  keys: string;
  nonce: Uint8Array;
  sealed: Uint8Array;
  created_at: string;
  updated_at: string;
}

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Opens `path` for writing with mode 0600 from the first byte (O_CREAT with the mode, so no other
 * user ever sees it, whatever the umask), and tightens an existing file to 0600.
 */
function createPrivate(path: string, flags: number): number {
  const fd = openSync(path, flags | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  if ((fstatSync(fd).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return fd;
}

/**
 * The key that seals the values: 32 random bytes in a 0600 file beside the database, made on first
 * use. It protects a copy of the database alone (a backup, a file shared by mistake); whoever can read
 * both files, root included, can read the secrets (docs/security.md, "Credentials").
 */
export function loadOrCreateSecretKey(path: string): Buffer {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if ((fstatSync(fd).mode & 0o077) !== 0) chmodSync(path, 0o600);
    } finally {
      closeSync(fd);
    }
    const key = readFileSync(path);
    if (key.length !== KEY_BYTES)
      throw new Error(`${path} holds ${key.length} bytes; a secret store key is ${KEY_BYTES} bytes`);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(KEY_BYTES);
  const fd = createPrivate(path, constants.O_WRONLY | constants.O_EXCL);
  try {
    writeSync(fd, key);
  } finally {
    closeSync(fd);
  }
  return key;
}

/** What a sealed row is bound to: a ciphertext moved to another row (another user's) fails to open. */
function additionalData(owner: string, namespace: string, name: string): Buffer {
  return Buffer.from(JSON.stringify(['agenttier-secret-v1', owner, namespace, name]));
}

function encodeValues(values: ReadonlyMap<string, Uint8Array>): Buffer {
  return Buffer.from(
    JSON.stringify(Object.fromEntries([...values].map(([k, v]) => [k, Buffer.from(v).toString('base64')]))),
  );
}

function decodeValues(plain: Buffer): Map<string, Uint8Array> {
  const obj = JSON.parse(plain.toString('utf8')) as Record<string, string>;
  return new Map(Object.entries(obj).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]));
}

export interface SqliteSecretStoreOpts {
  /** The database file (created 0600), or ':memory:'. */
  path: string;
  /** The 32-byte sealing key (loadOrCreateSecretKey). */
  key: Uint8Array;
}

/**
 * Secrets in SQLite, values sealed with AES-256-GCM under a key kept in its own file. Rows are keyed by
 * owner, namespace and name: there is no lookup by name alone, so one user's secret is never found for
 * another. Names and keys are stored in the clear (they are listed); values only sealed.
 */
export class SqliteSecretStore implements SecretStore {
  private readonly db: SqliteDatabase;
  private readonly key: Buffer;

  constructor(opts: SqliteSecretStoreOpts) {
    if (opts.key.length !== KEY_BYTES) throw new Error(`the secret store key must be ${KEY_BYTES} bytes`);
    this.key = Buffer.from(opts.key);
    if (opts.path !== ':memory:') {
      mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
      // SQLite gives its -wal and -shm files the database file's mode, so 0600 here covers them too.
      closeSync(createPrivate(opts.path, constants.O_RDWR));
    }
    this.db = new SqliteDatabase(
      opts.path,
      `
      PRAGMA secure_delete = ON;
      CREATE TABLE IF NOT EXISTS secrets (
        owner TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        keys TEXT NOT NULL,
        nonce BLOB NOT NULL,
        sealed BLOB NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (owner, namespace, name)
      );
      `,
    );
  }

  private seal(
    owner: string,
    namespace: string,
    name: string,
    plain: Buffer,
  ): { nonce: Buffer; sealed: Buffer } {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(additionalData(owner, namespace, name));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { nonce, sealed };
  }

  private open(row: Row): Map<string, Uint8Array> {
    const sealed = Buffer.from(row.sealed);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(row.nonce));
    decipher.setAAD(additionalData(row.owner, row.namespace, row.name));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return decodeValues(
        Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]),
      );
    } catch {
      // Never the cause's text: it could carry bytes of the row.
      throw new PlatformError(
        'INTERNAL',
        `secret "${row.name}" in namespace "${row.namespace}" cannot be opened with this server's key (the database or the key file was replaced or altered); create it again`,
      );
    }
  }

  private row(owner: string, namespace: string, name: string): Row | undefined {
    return this.db
      .statement('SELECT * FROM secrets WHERE owner = ? AND namespace = ? AND name = ?')
      .get(owner, namespace, name) as Row | undefined;
  }

  async put(
    owner: string,
    namespace: string,
    name: string,
    values: ReadonlyMap<string, Uint8Array>,
  ): Promise<{ created: boolean; meta: SecretMeta }> {
    const now = new Date().toISOString();
    const keys = [...values.keys()].sort();
    const { nonce, sealed } = this.seal(owner, namespace, name, encodeValues(values));
    const existing = this.row(owner, namespace, name);
    this.db
      .statement(
        `INSERT INTO secrets (owner, namespace, name, keys, nonce, sealed, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (owner, namespace, name) DO UPDATE SET
           keys = excluded.keys, nonce = excluded.nonce, sealed = excluded.sealed, updated_at = excluded.updated_at`,
      )
      .run(owner, namespace, name, JSON.stringify(keys), nonce, sealed, existing?.created_at ?? now, now);
    return {
      created: !existing,
      meta: { owner, namespace, name, keys, createdAt: existing?.created_at ?? now, updatedAt: now },
    };
  }

  async get(owner: string, namespace: string, name: string): Promise<SecretMeta | undefined> {
    const row = this.row(owner, namespace, name);
    return row ? metaOf(row) : undefined;
  }

  async list(owner: string, namespace?: string): Promise<SecretMeta[]> {
    const rows = (namespace === undefined
      ? this.db.statement('SELECT * FROM secrets WHERE owner = ? ORDER BY namespace, name').all(owner)
      : this.db
          .statement('SELECT * FROM secrets WHERE owner = ? AND namespace = ? ORDER BY name')
          .all(owner, namespace)) as unknown as Row[];
    return rows.map(metaOf);
  }

  async count(owner: string): Promise<number> {
    const r = this.db.statement('SELECT COUNT(*) AS n FROM secrets WHERE owner = ?').get(owner) as {
      n: number;
    };
    return Number(r.n);
  }

  async delete(owner: string, namespace: string, name: string): Promise<boolean> {
    const r = this.db
      .statement('DELETE FROM secrets WHERE owner = ? AND namespace = ? AND name = ?')
      .run(owner, namespace, name);
    return Number(r.changes) > 0;
  }

  async values(owner: string, namespace: string, name: string): Promise<Map<string, Uint8Array> | undefined> {
    const row = this.row(owner, namespace, name);
    return row ? this.open(row) : undefined;
  }

  close(): void {
    this.db.close();
  }
}

function metaOf(row: Row): SecretMeta {
  return {
    owner: row.owner,
    namespace: row.namespace,
    name: row.name,
    keys: JSON.parse(row.keys) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
