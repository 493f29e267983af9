import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Resource, ResourceKind } from '@agenttier/contract';
import { KINDS, PlatformError } from '@agenttier/contract';
import type { ListOptions, ObjectKey, Store, WatchEvent } from '@agenttier/core';

export interface SqliteStoreOpts {
  /** Database file; `:memory:` for tests. */
  path: string;
  now?: () => Date;
}

interface Row {
  body: string;
}

const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The local platform's Store: one table of JSON objects with a global, monotonically increasing
 * resourceVersion (like etcd's revision). WAL mode with synchronous=FULL: a `kill -9` at any moment
 * loses nothing that a caller saw acknowledged.
 */
export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly events = new EventEmitter();
  private readonly now: () => Date;
  /** Compiled statements by SQL text: compiling one costs more than running it (a read is ~5 µs). */
  private readonly statements = new Map<string, StatementSync>();

  constructor(opts: SqliteStoreOpts) {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new DatabaseSync(opts.path);
    this.now = opts.now ?? (() => new Date());
    this.events.setMaxListeners(0);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS objects (
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        uid TEXT NOT NULL,
        resource_version INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (kind, namespace, name)
      );
      CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
      INSERT OR IGNORE INTO revision (id, value) VALUES (1, 0);
    `);
  }

  private prepare(sql: string): StatementSync {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private nextRevision(): number {
    const row = this.prepare('UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value').get() as {
      value: number;
    };
    return row.value;
  }

  private ns(kind: ResourceKind, namespace: string | undefined): string {
    return KINDS[kind].namespaced ? (namespace ?? 'default') : '';
  }

  private read<T extends Resource>(kind: ResourceKind, namespace: string, name: string): T | undefined {
    const row = this.prepare('SELECT body FROM objects WHERE kind = ? AND namespace = ? AND name = ?').get(
      kind,
      namespace,
      name,
    ) as Row | undefined;
    return row ? (JSON.parse(row.body) as T) : undefined;
  }

  private write(obj: Resource, rv: number): void {
    this.prepare(
      `INSERT INTO objects (kind, namespace, name, uid, resource_version, body) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, namespace, name) DO UPDATE SET uid = excluded.uid,
           resource_version = excluded.resource_version, body = excluded.body`,
    ).run(
      obj.kind,
      obj.metadata.namespace ?? '',
      obj.metadata.name,
      obj.metadata.uid ?? '',
      rv,
      JSON.stringify(obj),
    );
  }

  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private emit(event: WatchEvent): void {
    this.events.emit(event.object.kind, structuredClone(event));
  }

  async get<T extends Resource>(kind: ResourceKind, key: ObjectKey): Promise<T | undefined> {
    return this.read<T>(kind, this.ns(kind, key.namespace), key.name);
  }

  async list<T extends Resource>(kind: ResourceKind, opts: ListOptions = {}): Promise<T[]> {
    const rows = (opts.namespace !== undefined && KINDS[kind].namespaced
      ? this.prepare(
          'SELECT body FROM objects WHERE kind = ? AND namespace = ? ORDER BY namespace, name',
        ).all(kind, opts.namespace)
      : this.prepare('SELECT body FROM objects WHERE kind = ? ORDER BY namespace, name').all(
          kind,
        )) as unknown as Row[];
    const items = rows.map((r) => JSON.parse(r.body) as T);
    const labels = opts.labels;
    if (!labels) return items;
    return items.filter((o) => Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v));
  }

  async create<T extends Resource>(obj: T): Promise<T> {
    const namespace = this.ns(obj.kind, obj.metadata.namespace);
    const created = this.tx(() => {
      if (this.read(obj.kind, namespace, obj.metadata.name)) {
        throw new PlatformError(
          'ALREADY_EXISTS',
          `${KINDS[obj.kind].singular} "${obj.metadata.name}" already exists${namespace ? ` in namespace "${namespace}"` : ''}`,
        );
      }
      const rv = this.nextRevision();
      const out = structuredClone(obj);
      out.metadata = {
        ...out.metadata,
        ...(namespace ? { namespace } : {}),
        uid: randomUUID(),
        resourceVersion: String(rv),
        generation: 1,
        creationTimestamp: rfc3339(this.now()),
      };
      if (!namespace) delete out.metadata.namespace;
      this.write(out, rv);
      return out;
    });
    this.emit({ type: 'ADDED', object: created });
    return structuredClone(created);
  }

  private replace<T extends Resource>(obj: T, part: 'main' | 'status'): T {
    const namespace = this.ns(obj.kind, obj.metadata.namespace);
    let deleted = false;
    const result = this.tx(() => {
      const current = this.read<T>(obj.kind, namespace, obj.metadata.name);
      if (!current) {
        throw new PlatformError('NOT_FOUND', `${KINDS[obj.kind].singular} "${obj.metadata.name}" not found`);
      }
      if (
        obj.metadata.resourceVersion !== undefined &&
        obj.metadata.resourceVersion !== current.metadata.resourceVersion
      ) {
        throw new PlatformError(
          'CONFLICT',
          `the object has been modified (resourceVersion ${obj.metadata.resourceVersion} is stale, current is ${current.metadata.resourceVersion}); read it again and retry`,
        );
      }
      const rv = this.nextRevision();
      let next: T;
      if (part === 'status') {
        next = { ...current, status: structuredClone(obj.status) };
        next.metadata = { ...current.metadata, resourceVersion: String(rv) };
      } else {
        const specChanged = JSON.stringify(current.spec) !== JSON.stringify(obj.spec);
        next = {
          ...structuredClone(obj),
          ...(current.status !== undefined ? { status: current.status } : {}),
        };
        next.metadata = {
          ...obj.metadata,
          // System-owned metadata cannot be changed by writers.
          uid: current.metadata.uid,
          creationTimestamp: current.metadata.creationTimestamp,
          resourceVersion: String(rv),
          generation: (current.metadata.generation ?? 1) + (specChanged ? 1 : 0),
          ...(current.metadata.deletionTimestamp
            ? { deletionTimestamp: current.metadata.deletionTimestamp }
            : {}),
        };
        if (!namespace) delete next.metadata.namespace;
        else next.metadata.namespace = namespace;
        // An object marked for deletion goes away once its last finalizer is removed.
        if (next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length) {
          this.prepare('DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?').run(
            obj.kind,
            namespace,
            obj.metadata.name,
          );
          deleted = true;
          return next;
        }
      }
      this.write(next, rv);
      return next;
    });
    this.emit({ type: deleted ? 'DELETED' : 'MODIFIED', object: result });
    return structuredClone(result);
  }

  async update<T extends Resource>(obj: T): Promise<T> {
    return this.replace(obj, 'main');
  }

  async updateStatus<T extends Resource>(obj: T): Promise<T> {
    return this.replace(obj, 'status');
  }

  async delete(kind: ResourceKind, key: ObjectKey): Promise<void> {
    const namespace = this.ns(kind, key.namespace);
    const event = this.tx((): WatchEvent | undefined => {
      const current = this.read(kind, namespace, key.name);
      if (!current) throw new PlatformError('NOT_FOUND', `${KINDS[kind].singular} "${key.name}" not found`);
      if ((current.metadata.finalizers ?? []).length > 0) {
        if (current.metadata.deletionTimestamp) return undefined; // already deleting: idempotent
        const rv = this.nextRevision();
        const next = {
          ...current,
          metadata: {
            ...current.metadata,
            deletionTimestamp: rfc3339(this.now()),
            resourceVersion: String(rv),
          },
        };
        this.write(next, rv);
        return { type: 'MODIFIED', object: next };
      }
      this.prepare('DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?').run(
        kind,
        namespace,
        key.name,
      );
      return { type: 'DELETED', object: current };
    });
    if (event) this.emit(event);
  }

  watch(kind: ResourceKind, handler: (event: WatchEvent) => void): () => void {
    const listener = (e: WatchEvent) => {
      try {
        handler(e);
      } catch {
        // A failing watcher must not break writers.
      }
    };
    this.events.on(kind, listener);
    return () => this.events.off(kind, listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
    if (this.db.isOpen) this.db.close();
  }
}
