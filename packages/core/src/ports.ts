import type {
  AuditEvent,
  FileEntry,
  InvokeRecord,
  ResourceKind,
  Resource,
  Sandbox,
} from '@agenttier/contract';
import type { EffectiveSandbox } from './template-merge.ts';

/** A key that names one object: namespace is empty for cluster-scoped kinds. */
export interface ObjectKey {
  namespace?: string;
  name: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface WatchEvent<T extends Resource = Resource> {
  type: WatchEventType;
  object: T;
}

export interface ListOptions {
  namespace?: string;
  /** Equality-only label selector: every pair must match. */
  labels?: Record<string, string>;
}

/**
 * Desired state and status of every resource. Writes carry `metadata.resourceVersion`; a stale one is
 * a CONFLICT (409). `create` of an existing name is ALREADY_EXISTS (409). `delete` of an object with
 * finalizers only sets `deletionTimestamp`; the object goes when its finalizers are removed.
 */
export interface Store {
  get<T extends Resource>(kind: ResourceKind, key: ObjectKey): Promise<T | undefined>;
  list<T extends Resource>(kind: ResourceKind, opts?: ListOptions): Promise<T[]>;
  create<T extends Resource>(obj: T): Promise<T>;
  /** Writes metadata and spec (status is ignored). Bumps generation when the spec changed. */
  update<T extends Resource>(obj: T): Promise<T>;
  /** Writes status only. */
  updateStatus<T extends Resource>(obj: T): Promise<T>;
  delete(kind: ResourceKind, key: ObjectKey): Promise<void>;
  /** Calls `handler` for every change from now on; returns the function that stops watching. */
  watch(kind: ResourceKind, handler: (event: WatchEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * The state of a sandbox's workload as the engine reports it. The planner handles each one explicitly
 * (see WORKLOAD_HANDLING in plan.ts), so a new state added here fails to compile until it is handled.
 * - `created`: made but never started; nothing starts it unless we do (a crash between create and start)
 * - `starting`: the platform is bringing it up by itself (a Pending pod)
 * - `running`, `restarting` (the engine's restart policy is at work), `paused` (someone ran `docker pause`)
 * - `exited`, `dead` (the engine failed to remove it): it will not run again as it is
 * - `removing`: the engine is deleting it; a new one under the same name must wait
 * - `other`: anything a runtime cannot classify
 */
export type WorkloadState =
  'created' | 'starting' | 'running' | 'restarting' | 'paused' | 'exited' | 'dead' | 'removing' | 'other';

/** What the runtime sees of one sandbox's children. */
export interface ObservedWorkload {
  name: string;
  state: WorkloadState;
  /** The sandbox's init daemon answers (or, without one, the container runs). */
  ready: boolean;
  exitCode?: number;
  message?: string;
  sandboxUid?: string;
}

export interface ObservedSandbox {
  workload?: ObservedWorkload;
  /**
   * `sandboxUid` is the owner label found on the volume (absent when the runtime cannot tell).
   * `incomplete`: only part of it exists (a crash came between its parts, e.g. a size-limited
   * workspace's image without its engine volume); ensureVolume completes it, removeVolume removes it.
   */
  volume?: { name: string; sandboxUid?: string; incomplete?: boolean };
}

export interface OwnedChild {
  type: 'workload' | 'volume';
  name: string;
  sandboxUid: string;
  sandboxName: string;
  namespace: string;
}

export type ChildOutcome = 'created' | 'started' | 'unchanged' | 'deleted';

/**
 * Drives real containers (or Pods). Every method is idempotent: calling it twice has the effect of
 * calling it once, so the controller can crash anywhere and simply run again.
 */
export interface Runtime {
  observe(sandbox: Sandbox): Promise<ObservedSandbox>;
  ensureVolume(sandbox: Sandbox, effective: EffectiveSandbox): Promise<ChildOutcome>;
  ensureWorkload(sandbox: Sandbox, effective: EffectiveSandbox): Promise<ChildOutcome>;
  removeWorkload(sandbox: Sandbox): Promise<ChildOutcome>;
  removeVolume(sandbox: Sandbox): Promise<ChildOutcome>;
  /** Everything this runtime manages, for garbage collection of children whose sandbox is gone. */
  listOwned(): Promise<OwnedChild[]>;
  removeOwned(child: OwnedChild): Promise<void>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Minimal structured logger (pino-compatible subset); core never picks a logging library. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

export interface ExecSpec {
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  stdin?: Uint8Array;
  timeoutMs: number;
  /** Per stream; beyond it output is cut and `truncated` set. */
  maxOutputBytes: number;
}

export interface ArchiveLimits {
  /** Sum of the archived files' sizes. */
  maxBytes: number;
  /** Files, directories and links. */
  maxEntries: number;
}

export interface ExecOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
  signal?: string;
}

/** A directory entry, as the API returns it. */
export type FileInfo = FileEntry;

/**
 * The data plane of one running sandbox: processes and files. Implemented by sandboxd (fast path) and
 * by the engine's own exec/archive API (fallback when sandboxd cannot run in an image).
 */
export interface DataPlane {
  readonly kind: 'sandboxd' | 'engine';
  exec(sandbox: Sandbox, spec: ExecSpec, signal?: AbortSignal): Promise<ExecOutcome>;
  stat(sandbox: Sandbox, path: string): Promise<FileInfo>;
  list(sandbox: Sandbox, path: string): Promise<FileInfo[]>;
  read(
    sandbox: Sandbox,
    path: string,
    maxBytes: number,
  ): Promise<{ size: number; body: AsyncIterable<Uint8Array> }>;
  write(sandbox: Sandbox, path: string, body: Uint8Array): Promise<{ bytes: number }>;
  /**
   * A tar stream of a directory (the router turns it into a zip), made inside the sandbox as its user
   * with the file calls' confinement (no link followed, no special file). A directory over the limits
   * fails with PAYLOAD_TOO_LARGE before the stream starts; a plane that cannot confine it refuses.
   */
  archiveTar(sandbox: Sandbox, path: string, limits: ArchiveLimits): Promise<AsyncIterable<Uint8Array>>;
}

// The invoke record is a REST response body too: declared once, in contract.
export type { InvokeReason, InvokeRecord } from '@agenttier/contract';

export interface RecordedEvent {
  id: number;
  event: string;
  data: string;
}

/** Where invocations, their replayable event streams and install logs are kept. */
export interface AgentRecordStore {
  createInvoke(record: InvokeRecord): Promise<void>;
  updateInvoke(invokeId: string, patch: Partial<InvokeRecord>): Promise<void>;
  getInvoke(invokeId: string): Promise<InvokeRecord | undefined>;
  listInvokes(namespace: string, sandbox: string, limit: number): Promise<InvokeRecord[]>;
  appendEvents(invokeId: string, events: RecordedEvent[]): Promise<void>;
  readEvents(invokeId: string, afterId: number, limit: number): Promise<RecordedEvent[]>;
  putInstallLog(namespace: string, sandbox: string, log: string): Promise<void>;
  getInstallLog(namespace: string, sandbox: string): Promise<string | undefined>;
  /** Everything of a sandbox that is gone. */
  deleteSandbox(namespace: string, sandbox: string): Promise<void>;
}

/** Who a credential stands for: the user an API key acts as (copied from its creator at issue). */
export interface Principal {
  id: string;
  email?: string;
  name?: string;
  groups: string[];
  isAdmin: boolean;
}

/** An API key as stored: its SHA-256 only, never the key. Times are RFC 3339. */
export interface ApiKeyRecord {
  /** Public id (`key_…`), used to list and revoke; not a secret. */
  id: string;
  name: string;
  /** Lowercase hex SHA-256 of the whole key. */
  hash: string;
  /** The user the key acts as. */
  owner: Principal;
  createdAt: string;
  lastUsedAt?: string;
  expiresAt?: string;
  /** A sandbox-scoped key: the one sandbox it may act on, and how (docs/auth.md). */
  scope?: ApiKeyScope;
}

/** The sandbox a scoped key is limited to; `uid` pins it, so a new sandbox of the same name is not it. */
export interface ApiKeyScope {
  namespace: string;
  sandbox: string;
  uid?: string;
  /** Scoped-key verbs (contract's SCOPED_KEY_VERBS). */
  verbs: string[];
}

/** Where API keys live: SQLite next to the state locally, the router's own SQLite on Kubernetes. */
export interface ApiKeyStore {
  insert(record: ApiKeyRecord): Promise<void>;
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  /** Every key, or one owner's. */
  list(ownerId?: string): Promise<ApiKeyRecord[]>;
  /** Returns whether a key was removed. */
  remove(id: string): Promise<boolean>;
  touch(id: string, lastUsedAt: string): Promise<void>;
}

/** One audited call (the wire shape of `GET /api/v1/audit/events`). */
export type { AuditEvent } from '@agenttier/contract';

export interface AuditQuery {
  actor?: string;
  target?: string;
  /** Only events with an id below this (the previous page's last id). */
  beforeId?: number;
  limit: number;
}

/** Where the audit trail is kept: SQLite locally. */
export interface AuditLog {
  record(event: Omit<AuditEvent, 'id'>): Promise<void>;
  /** Newest first. */
  query(q: AuditQuery): Promise<AuditEvent[]>;
}
