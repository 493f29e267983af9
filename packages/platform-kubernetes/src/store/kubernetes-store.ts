import type { KubeConfig } from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node';
import type { Resource, ResourceKind, Sandbox, SandboxStatus } from '@agenttier/contract';
import { API_VERSION, KINDS, PlatformError } from '@agenttier/contract';
import type { ListOptions, Logger, ObjectKey, Store, WatchEvent } from '@agenttier/core';
import { silentLogger } from '@agenttier/core';
import { isConflict, isNotFound, toPlatformError, withRetry } from '../kube/api-errors.ts';
import { CustomResources, resourcePath } from '../kube/custom-resources.ts';
import { Reflector, objectKey } from '../kube/reflector.ts';
import type { ObjectCache } from '../kube/reflector-set.ts';
import { ReflectorSet, wholeCluster } from '../kube/reflector-set.ts';

export interface KubernetesStoreOpts {
  kubeConfig: KubeConfig;
  logger?: Logger;
  /** Kinds cached and watched. @default all three */
  kinds?: ResourceKind[];
  /** Full relist period of each informer. @default 300000 */
  resyncMs?: number;
  /** How long a write waits for its own watch event before writing through the cache. @default 2000 */
  readYourWritesMs?: number;
  /**
   * Cache and watch namespaced kinds only in these namespaces (one list/watch each; a namespace-scoped
   * operator never watches the whole cluster). Reads elsewhere go to the API server. @default every namespace
   */
  namespaces?: string[];
}

const ALL_KINDS: ResourceKind[] = ['Sandbox', 'SandboxTemplate', 'ClusterSandboxTemplate'];

function describe(kind: ResourceKind, name: string, namespace?: string): string {
  return `${KINDS[kind].singular} "${name}"${KINDS[kind].namespaced && namespace ? ` in namespace "${namespace}"` : ''}`;
}

/** What the API server stores for our objects: everything but status on the main endpoint. */
function withoutStatus<T extends Resource>(obj: T): T {
  const { status: _status, ...rest } = obj;
  return { ...rest, apiVersion: API_VERSION } as T;
}

/** The API server gives dates back as strings, which is what the contract says they are. */
function normalise<T extends Resource>(obj: T): T {
  const meta = obj.metadata as T['metadata'] & { managedFields?: unknown };
  if (meta && 'managedFields' in meta) delete meta.managedFields;
  return attestedCreator(obj);
}

/**
 * A Sandbox's creator is who the router recorded in `status.createdBy` (through the status
 * subresource), never what `spec.createdBy` claims: anyone allowed to create Sandbox objects can
 * write any user there, and the router's access checks and the credential owner check would follow
 * it (a Secret of alice's mounted into a sandbox mallory made and shared with herself). Everything
 * above the store sees the attested creator in `spec.createdBy`, or none.
 */
function attestedCreator<T extends Resource>(obj: T): T {
  if (obj.kind !== 'Sandbox') return obj;
  const sb = obj as unknown as Sandbox;
  if (!sb.spec) return obj;
  const attested = sb.status?.createdBy;
  if (attested) sb.spec.createdBy = structuredClone(attested);
  else delete sb.spec.createdBy;
  return obj;
}

/**
 * The Store port on the Kubernetes API server. Reads come from informer caches (list + watch per
 * kind, relisting on 410 and periodically); writes go to the server with optimistic concurrency (PUT
 * with the caller's resourceVersion, so a stale write is a CONFLICT) and status through the /status
 * subresource; each write then waits briefly for its own watch event, so a caller reads its own write.
 * `start()` must resolve (caches synced) before use.
 */
export class KubernetesStore implements Store {
  private readonly cr: CustomResources;
  private readonly reflectors = new Map<ResourceKind, ObjectCache<Resource>>();
  private readonly logger: Logger;
  private readonly readYourWritesMs: number;

  constructor(private readonly opts: KubernetesStoreOpts) {
    this.cr = new CustomResources(opts.kubeConfig);
    this.logger = (opts.logger ?? silentLogger).child({ component: 'kubernetes-store' });
    this.readYourWritesMs = opts.readYourWritesMs ?? 2000;
    const watch = new Watch(opts.kubeConfig);
    const namespaces = opts.namespaces?.length ? [...new Set(opts.namespaces)] : undefined;
    for (const kind of opts.kinds ?? ALL_KINDS) {
      const reflector = (namespace?: string) =>
        new Reflector<Resource>({
          name: namespace ? `${KINDS[kind].plural} in ${namespace}` : KINDS[kind].plural,
          watch,
          watchPath: resourcePath(kind, namespace),
          list: async (page) => {
            return withRetry(
              () => this.cr.list<Resource>(kind, { ...page, ...(namespace ? { namespace } : {}) }),
              {
                idempotent: true,
              },
            );
          },
          // List items carry no apiVersion/kind on some servers, and managedFields are the server's business.
          transform: (obj) => normalise(Object.assign(obj, { apiVersion: API_VERSION, kind })),
          ...(opts.resyncMs !== undefined ? { resyncMs: opts.resyncMs } : {}),
          onError: (err, during) =>
            this.logger.warn({ kind, namespace, during, err: String(err) }, 'informer error; retrying'),
        });
      this.reflectors.set(
        kind,
        namespaces && KINDS[kind].namespaced
          ? new ReflectorSet(new Map(namespaces.map((ns) => [ns, reflector(ns)])))
          : wholeCluster(reflector()),
      );
    }
  }

  /** Lists every kind and starts the watches; resolves when the caches are synced. */
  async start(): Promise<void> {
    await Promise.all([...this.reflectors.values()].map((r) => r.start()));
  }

  get hasSynced(): boolean {
    return [...this.reflectors.values()].every((r) => r.hasSynced);
  }

  private reflector(kind: ResourceKind): ObjectCache<Resource> {
    const r = this.reflectors.get(kind);
    if (!r) throw new PlatformError('INTERNAL', `the store does not cache ${KINDS[kind].plural}`);
    return r;
  }

  private keyOf(kind: ResourceKind, key: ObjectKey): string {
    return `${KINDS[kind].namespaced ? (key.namespace ?? 'default') : ''}/${key.name}`;
  }

  /** Waits for the watch to deliver what the server answered; writes it through if the watch lags. */
  private async settle<T extends Resource>(written: T): Promise<T> {
    normalise(written);
    const r = this.reflector(written.kind);
    const key = objectKey(written);
    const rv = written.metadata.resourceVersion;
    const gone = written.metadata.deletionTimestamp && !(written.metadata.finalizers ?? []).length;
    if (gone) {
      // The last finalizer went: the server deleted the object as it answered.
      if (
        !(await r.waitFor(() => r.get(key)?.metadata.uid !== written.metadata.uid, this.readYourWritesMs))
      ) {
        r.forget(key, written.metadata.uid);
      }
      return structuredClone(written);
    }
    const seen = () => {
      const cached = r.get(key);
      return (
        cached !== undefined &&
        cached.metadata.uid === written.metadata.uid &&
        !isOlder(cached.metadata.resourceVersion, rv)
      );
    };
    if (!(await r.waitFor(seen, this.readYourWritesMs))) r.upsertIfNewer(structuredClone(written));
    return structuredClone(written);
  }

  async get<T extends Resource>(kind: ResourceKind, key: ObjectKey): Promise<T | undefined> {
    const r = this.reflectors.get(kind);
    if (r?.hasSynced && r.covers(this.nsOf(kind, key.namespace) ?? 'default')) {
      const cached = r.get(this.keyOf(kind, key));
      return cached ? (structuredClone(cached) as T) : undefined;
    }
    try {
      const obj = await withRetry(() => this.cr.get<T>(kind, this.nsOf(kind, key.namespace), key.name), {
        idempotent: true,
      });
      return normalise({ ...obj, apiVersion: API_VERSION, kind });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toPlatformError(err, describe(kind, key.name, key.namespace));
    }
  }

  async list<T extends Resource>(kind: ResourceKind, opts: ListOptions = {}): Promise<T[]> {
    const r = this.reflectors.get(kind);
    let items: Resource[];
    // Without a namespace: what the cache holds (every namespace served).
    const cachedHere = !KINDS[kind].namespaced || opts.namespace === undefined || r?.covers(opts.namespace);
    if (r?.hasSynced && cachedHere) items = r.values();
    else {
      const namespace = KINDS[kind].namespaced ? opts.namespace : undefined;
      const list = await withRetry(() => this.cr.list<Resource>(kind, namespace ? { namespace } : {}), {
        idempotent: true,
      }).catch((err: unknown) => {
        throw toPlatformError(err, KINDS[kind].plural);
      });
      items = list.items.map((i) => normalise({ ...i, apiVersion: API_VERSION, kind }));
    }
    const labels = opts.labels;
    return items
      .filter(
        (o) =>
          opts.namespace === undefined || !KINDS[kind].namespaced || o.metadata.namespace === opts.namespace,
      )
      .filter((o) => !labels || Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v))
      .sort((a, b) => objectKey(a).localeCompare(objectKey(b)))
      .map((o) => structuredClone(o) as T);
  }

  private nsOf(kind: ResourceKind, namespace: string | undefined): string | undefined {
    return KINDS[kind].namespaced ? (namespace ?? 'default') : undefined;
  }

  private prepare<T extends Resource>(obj: T): T {
    const namespace = this.nsOf(obj.kind, obj.metadata.namespace);
    const metadata = { ...obj.metadata };
    if (namespace) metadata.namespace = namespace;
    else delete metadata.namespace;
    return { ...obj, metadata };
  }

  async create<T extends Resource>(obj: T): Promise<T> {
    const body = this.prepare(obj);
    const what = describe(obj.kind, body.metadata.name, body.metadata.namespace);
    // System metadata is the server's to set.
    const {
      uid: _u,
      resourceVersion: _rv,
      generation: _g,
      creationTimestamp: _c,
      deletionTimestamp: _d,
      ...meta
    } = body.metadata;
    let created: T;
    try {
      // 429 only: a create that failed with 5xx may have happened, and repeating it would say AlreadyExists.
      created = await withRetry(() => this.cr.create<T>(withoutStatus({ ...body, metadata: meta })), {
        idempotent: false,
      });
    } catch (err) {
      throw toPlatformError(err, what);
    }
    created = { ...created, apiVersion: API_VERSION, kind: obj.kind };
    // Whoever creates through the store (the router) attests the creator it was given.
    const creator = obj.kind === 'Sandbox' ? (obj as unknown as Sandbox).spec.createdBy : undefined;
    if (creator) return this.settle(await this.attest(created, obj.status, creator, what));
    // The status subresource drops status on create; the contract keeps it, so it is a second write.
    if (obj.status !== undefined && KINDS[obj.kind].hasStatus) {
      try {
        created = { ...(await this.cr.replaceStatus<T>({ ...created, status: obj.status })), kind: obj.kind };
      } catch (err) {
        this.logger.warn(
          { object: what, err: String(err) },
          'initial status write failed; the controller sets it',
        );
      }
    }
    return this.settle(created);
  }

  /**
   * The initial status with `status.createdBy`: the one record of the creator the store believes.
   * The controller may have written status meanwhile (a 409): then its status is kept and only the
   * creator added. Without this write the sandbox would have no owner, so it is retried, then fails.
   */
  private async attest<T extends Resource>(
    created: T,
    initial: T['status'] | undefined,
    creator: NonNullable<Sandbox['spec']['createdBy']>,
    what: string,
  ): Promise<T> {
    let current = created;
    for (let attempt = 0; ; attempt++) {
      const status = { ...(current.status ?? initial ?? {}), createdBy: creator };
      try {
        return { ...(await this.cr.replaceStatus<T>({ ...current, status } as T)), kind: created.kind };
      } catch (err) {
        if (!isConflict(err) || attempt >= 10) throw toPlatformError(err, `the creator of ${what}`);
      }
      current = await this.latest(created);
    }
  }

  async update<T extends Resource>(obj: T): Promise<T> {
    const body = this.prepare(obj);
    const what = describe(obj.kind, body.metadata.name, body.metadata.namespace);
    try {
      const current = body.metadata.resourceVersion ? body : await this.latest(body);
      const written = await withRetry(
        () =>
          this.cr.replace<T>(
            withoutStatus({
              ...body,
              metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion },
            }),
          ),
        {
          idempotent: false,
        },
      );
      return await this.settle({ ...written, kind: obj.kind });
    } catch (err) {
      throw toPlatformError(err, what);
    }
  }

  async updateStatus<T extends Resource>(obj: T): Promise<T> {
    const body = this.prepare(obj);
    const what = describe(obj.kind, body.metadata.name, body.metadata.namespace);
    if (!KINDS[obj.kind].hasStatus)
      throw new PlatformError('BAD_REQUEST', `${KINDS[obj.kind].plural} have no status`);
    // Without a resourceVersion the caller wants "last write wins": read, then compare-and-swap, retrying.
    for (let attempt = 0; ; attempt++) {
      try {
        const current = body.metadata.resourceVersion ? body : await this.latest(body);
        const written = await withRetry(
          () =>
            this.cr.replaceStatus<T>({
              ...current,
              status: this.keepCreator(body),
              metadata: { ...current.metadata },
            } as T),
          { idempotent: false },
        );
        return await this.settle({ ...written, kind: obj.kind });
      } catch (err) {
        if (!body.metadata.resourceVersion && isConflict(err) && attempt < 5) continue;
        throw toPlatformError(err, what);
      }
    }
  }

  /**
   * A status write never drops the attested creator: a caller that built the status afresh (or
   * read the object before the creator was recorded) keeps the one the cache has for that object.
   */
  private keepCreator<T extends Resource>(obj: T): T['status'] {
    if (obj.kind !== 'Sandbox' || (obj.status as SandboxStatus | undefined)?.createdBy) return obj.status;
    const cached = this.reflectors.get(obj.kind)?.get(objectKey(obj)) as Sandbox | undefined;
    const creator = cached?.metadata.uid === obj.metadata.uid ? cached?.status?.createdBy : undefined;
    return (creator ? { ...(obj.status ?? {}), createdBy: creator } : obj.status) as T['status'];
  }

  /** The object as the server has it now (for unconditional writes). */
  private async latest<T extends Resource>(obj: T): Promise<T> {
    const current = await withRetry(
      () => this.cr.get<T>(obj.kind, obj.metadata.namespace, obj.metadata.name),
      { idempotent: true },
    );
    return { ...current, kind: obj.kind };
  }

  async delete(kind: ResourceKind, key: ObjectKey): Promise<void> {
    const namespace = this.nsOf(kind, key.namespace);
    const what = describe(kind, key.name, namespace);
    let answer: unknown;
    try {
      answer = await withRetry(() => this.cr.delete(kind, namespace, key.name), { idempotent: false });
    } catch (err) {
      throw toPlatformError(err, what);
    }
    // With finalizers the server answers with the object (now carrying deletionTimestamp); without, a Status.
    const obj = answer as Resource | undefined;
    if (obj && obj.metadata && obj.kind === kind) {
      await this.settle({ ...obj, apiVersion: API_VERSION, kind } as Resource);
      return;
    }
    const r = this.reflectors.get(kind);
    if (!r) return;
    const k = this.keyOf(kind, key);
    const uid = (answer as { details?: { uid?: string } } | undefined)?.details?.uid;
    const goneNow = () => {
      const cached = r.get(k);
      return !cached || (uid !== undefined && cached.metadata?.uid !== uid);
    };
    if (!(await r.waitFor(goneNow, this.readYourWritesMs))) r.forget(k, uid);
  }

  watch(kind: ResourceKind, handler: (event: WatchEvent) => void): () => void {
    return this.reflector(kind).on((type, obj) => {
      handler({ type, object: structuredClone({ ...obj, apiVersion: API_VERSION, kind }) });
    });
  }

  async close(): Promise<void> {
    for (const r of this.reflectors.values()) r.stop();
  }
}

function isOlder(candidate: string | undefined, than: string | undefined): boolean {
  if (candidate === undefined || than === undefined) return false;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(than)) return BigInt(candidate) < BigInt(than);
  return candidate !== than;
}
