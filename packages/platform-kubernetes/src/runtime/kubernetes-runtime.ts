import type {
  KubeConfig,
  V1NetworkPolicy,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
} from '@kubernetes/client-node';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import type { Sandbox, TemplateSpec } from '@agenttier/contract';
import {
  API_VERSION,
  LABEL_MANAGED,
  LABEL_SANDBOX,
  LABEL_SANDBOX_UID,
  PlatformError,
  credentialShapeProblem,
} from '@agenttier/contract';
import type {
  ChildOutcome,
  EffectiveSandbox,
  Logger,
  ObservedSandbox,
  OwnedChild,
  Runtime,
  TemplateLookup,
} from '@agenttier/core';
import {
  TerminalError,
  credentialProblems,
  mergeTemplateChain,
  resolveTemplateChain,
  silentLogger,
} from '@agenttier/core';
import { isAlreadyExists, isConflict, isNotFound, toPlatformError, withRetry } from '../kube/api-errors.ts';
import { SandboxPodCache } from './sandbox-pod-cache.ts';
import type { ChildNames } from './children.ts';
import {
  ANNOTATION_ALLOWED_DOMAINS,
  childNames,
  ForeignChildError,
  newSandboxdToken,
  ownership,
  tokenDigest,
} from './children.ts';
import type { DomainResolver } from './domain-resolver.ts';
import { resolveDomains, systemResolver } from './domain-resolver.ts';
import type { DnsPeer, RouterPeer } from './network-policy.ts';
import { buildNetworkPolicy } from './network-policy.ts';
import type { AccessMode } from './objects.ts';
import { buildPvc, buildServiceAccount, buildTokenSecret } from './objects.ts';
import { failedInit, observePod } from './observe-pod.ts';
import type { HarnessExtras, PodScheduling, SandboxPodSecurity } from './pod-builder.ts';
import { buildPod } from './pod-builder.ts';
import { ANNOTATION_CREDENTIAL_OWNER, credentialSecretProblem } from './credential-secrets.ts';

export interface KubernetesRuntimeOpts {
  kubeConfig: KubeConfig;
  /** Image whose entry copies sandboxd, Node and tini into the pod. */
  injectorImage: string;
  /**
   * How sandbox pods start: `baseline` (root first step, the namespace must admit Pod Security
   * baseline) or `restricted` (uid 1000 throughout; weaker, see SandboxPodSecurity). @default 'baseline'
   */
  podSecurity?: SandboxPodSecurity;
  /** The router's pods: the only peers allowed to reach sandboxd. */
  router: RouterPeer;
  /** Template lookup for harness parts that EffectiveSandbox does not carry (tools, init scripts). */
  templates?: TemplateLookup;
  resolver?: DomainResolver;
  /** Never reachable from a sandbox, not even with allowInternet. @default DEFAULT_BLOCKED_CIDRS */
  blockedCidrs?: string[];
  /** The cluster DNS pods, the only DNS a sandbox may query. @default DEFAULT_DNS */
  dns?: DnsPeer;
  /** Access mode of workspace claims whose sandbox and template name none. @default ReadWriteOnce */
  accessMode?: AccessMode;
  scheduling?: PodScheduling;
  logger?: Logger;
  /** Called when a sandbox's pod changes (so the controller reconciles it at once, not at the next resync). */
  onPodChange?: (namespace: string, sandboxName: string) => void;
  /** Full relist period of the pod cache. @default 300000 */
  resyncMs?: number;
  /**
   * The namespaces that host sandboxes: pods and claims are listed and watched there only (RBAC: a
   * Role per namespace), and a sandbox elsewhere goes to Error. Unset: every namespace.
   */
  sandboxNamespaces?: string[];
}

const POD_SELECTOR = `${LABEL_MANAGED}=true`;

/** What ensureChild needs of an existing object: whose it is, which one, and whether it is going. */
type ChildObject = {
  metadata?: {
    uid?: string;
    deletionTimestamp?: Date;
    ownerReferences?: V1OwnerReference[];
    labels?: Record<string, string>;
  };
};

/**
 * The Runtime port on Kubernetes: per sandbox a Pod, a workspace PVC, a NetworkPolicy, a
 * ServiceAccount and a token Secret, all owned by the Sandbox so Kubernetes' garbage collector
 * removes them with it. Pods are read from a watched cache (and their changes reported); every
 * method is idempotent, as core's reconciler requires.
 */
export class KubernetesRuntime implements Runtime {
  readonly core: CoreV1Api;
  private readonly net: NetworkingV1Api;
  private readonly pods: SandboxPodCache;
  private readonly logger: Logger;

  constructor(private readonly opts: KubernetesRuntimeOpts) {
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.net = opts.kubeConfig.makeApiClient(NetworkingV1Api);
    this.logger = (opts.logger ?? silentLogger).child({ component: 'kubernetes-runtime' });
    this.pods = new SandboxPodCache({
      kubeConfig: opts.kubeConfig,
      ...(opts.sandboxNamespaces?.length ? { namespaces: opts.sandboxNamespaces } : {}),
      ...(opts.resyncMs !== undefined ? { resyncMs: opts.resyncMs } : {}),
      onError: (err, during) =>
        this.logger.warn({ during, err: String(err) }, 'pod informer error; retrying'),
    });
    this.pods.on((_type, pod) => {
      const ns = pod.metadata?.namespace;
      const sandbox = pod.metadata?.labels?.[LABEL_SANDBOX];
      if (ns && sandbox) opts.onPodChange?.(ns, sandbox);
    });
  }

  /** Starts the pod cache; resolves once it is synced. */
  async start(): Promise<void> {
    await this.pods.start();
  }

  async stop(): Promise<void> {
    this.pods.stop();
  }

  private ns(sandbox: Sandbox): string {
    return sandbox.metadata.namespace ?? 'default';
  }

  /**
   * With sandbox namespaces configured, the controller may act only there (its Roles are there): a
   * sandbox elsewhere fails for good with a message saying so, instead of the API server's 403.
   */
  private assertHosted(sandbox: Sandbox): void {
    const ns = this.ns(sandbox);
    if (this.pods.covers(ns)) return;
    throw new TerminalError(
      'FORBIDDEN',
      `namespace "${ns}" does not host sandboxes; use one of ${this.pods.namespaces!.join(', ')} (Helm rbac.sandboxNamespaces)`,
    );
  }

  private async readPod(sandbox: Sandbox, names: ChildNames): Promise<V1Pod | undefined> {
    if (this.pods.hasSynced) return this.pods.get(this.ns(sandbox), names.pod);
    return orUndefined(this.core.readNamespacedPod({ namespace: this.ns(sandbox), name: names.pod }));
  }

  private async readPvc(sandbox: Sandbox, names: ChildNames): Promise<V1PersistentVolumeClaim | undefined> {
    return orUndefined(
      withRetry(
        () => this.core.readNamespacedPersistentVolumeClaim({ namespace: this.ns(sandbox), name: names.pvc }),
        { idempotent: true },
      ),
    );
  }

  async observe(sandbox: Sandbox): Promise<ObservedSandbox> {
    const names = childNames(sandbox);
    try {
      const [pod, pvc] = await Promise.all([this.readPod(sandbox, names), this.readPvc(sandbox, names)]);
      // Objects under our names that are not this sandbox's (someone else's, or an earlier sandbox's
      // that the garbage collector is about to take) are not ours to observe, stop or delete: the
      // planner sees nothing, asks ensureWorkload/ensureVolume, and those report why they wait.
      const workload = observePod(pod && ownership(pod, sandbox) === 'ours' ? pod : undefined, sandbox);
      const out: ObservedSandbox = {};
      if (workload) out.workload = workload;
      // A claim on its way out (pvc-protection holds it while a pod uses it) is as good as gone.
      const pvcOwner = pvc && !pvc.metadata?.deletionTimestamp ? ownership(pvc, sandbox) : 'foreign';
      if (pvcOwner !== 'foreign') {
        // An earlier sandbox's claim under our name is reported with its owner, so the planner calls
        // ensureVolume (which refuses it) instead of mounting someone else's workspace.
        out.volume = {
          name: names.pvc,
          ...(pvcOwner === 'ours' ? {} : { sandboxUid: pvcOwnerUid(pvc!) ?? 'unknown' }),
        };
      }
      return out;
    } catch (err) {
      throw toPlatformError(err, `children of sandbox "${sandbox.metadata.name}"`);
    }
  }

  async ensureVolume(sandbox: Sandbox, effective: EffectiveSandbox): Promise<ChildOutcome> {
    this.assertHosted(sandbox);
    const names = childNames(sandbox);
    try {
      await this.core.createNamespacedPersistentVolumeClaim({
        namespace: this.ns(sandbox),
        body: buildPvc(sandbox, effective, await this.accessMode(sandbox)),
      });
      return 'created';
    } catch (err) {
      if (!isAlreadyExists(err)) throw toPlatformError(err, `workspace claim ${names.pvc}`);
    }
    const existing = await this.readPvc(sandbox, names);
    if (existing && !existing.metadata?.deletionTimestamp) {
      const who = ownership(existing, sandbox);
      // Not CONFLICT: the reconciler reads that as a stale store write and retries at once.
      if (who === 'stale') throw earlierSandboxsChild('PersistentVolumeClaim', names.pvc);
      if (who === 'foreign') {
        throw new ForeignChildError('PersistentVolumeClaim', this.ns(sandbox), names.pvc, sandbox);
      }
    }
    return 'unchanged';
  }

  async ensureWorkload(sandbox: Sandbox, effective: EffectiveSandbox): Promise<ChildOutcome> {
    this.assertHosted(sandbox);
    const names = childNames(sandbox);
    const ns = this.ns(sandbox);
    const pod = await this.readPod(sandbox, names).catch((err: unknown) => {
      throw toPlatformError(err, `pod ${names.pod}`);
    });
    if (pod) {
      if (pod.metadata?.deletionTimestamp) return 'unchanged'; // wait until the name is free
      const who = ownership(pod, sandbox);
      if (who === 'foreign') throw new ForeignChildError('Pod', ns, names.pod, sandbox);
      if (who === 'stale') throw earlierSandboxsChild('Pod', names.pod);
      const phase = pod.status?.phase;
      const init = failedInit(pod);
      // A pod whose init container failed stays Pending for a while on a real kubelet before it is
      // Failed; it can never start, so it is replaced now (else every pass would count a restart
      // against the same pod and the budget would be gone in a second, with one pod ever created).
      if (phase !== 'Succeeded' && phase !== 'Failed' && !init) return 'unchanged';
      // Ended: a pod never restarts, so a fresh one replaces it. A failed
      // init container is counted by core's planner (observePod reports the pod exited, with the
      // init container's message) once per pod; throwing here as well would replace the planned
      // status, restart count included, with a retry message, and the budget would never run out.
      await this.deletePod(ns, pod, 0);
      return 'deleted';
    }
    await this.checkCredentialSecrets(sandbox, effective);
    await this.ensureServiceAccount(sandbox, names, effective.serviceAccountAnnotations);
    const token = await this.ensureTokenSecret(sandbox, names);
    await this.ensureNetworkPolicy(sandbox, effective, names);
    const body = buildPod({
      sandbox,
      effective,
      tokenSha256: tokenDigest(token),
      injectorImage: this.opts.injectorImage,
      ...(this.opts.podSecurity ? { podSecurity: this.opts.podSecurity } : {}),
      harness: await this.harnessExtras(sandbox),
      ...(this.opts.scheduling ? { scheduling: this.opts.scheduling } : {}),
    });
    try {
      await this.core.createNamespacedPod({ namespace: ns, body });
      return 'created';
    } catch (err) {
      if (!isAlreadyExists(err)) throw toPlatformError(err, `pod ${names.pod}`);
    }
    // Taken: a concurrent reconcile made it (the next pass observes it), or someone else's pod (our
    // cache only holds labelled pods) holds the name.
    const taken = await orUndefined(this.core.readNamespacedPod({ namespace: ns, name: names.pod })).catch(
      (err: unknown) => {
        throw toPlatformError(err, `pod ${names.pod}`);
      },
    );
    const takenBy = taken ? ownership(taken, sandbox) : 'ours';
    if (takenBy === 'foreign') throw new ForeignChildError('Pod', ns, names.pod, sandbox);
    if (takenBy === 'stale') throw earlierSandboxsChild('Pod', names.pod);
    return 'unchanged';
  }

  /**
   * The workspace claim's access mode: the sandbox's `storage.accessMode`, else its template chain's
   * (storage blocks replace along the chain), else the runtime's default, else ReadWriteOnce.
   */
  private async accessMode(sandbox: Sandbox): Promise<AccessMode> {
    const own = sandbox.spec.storage?.accessMode;
    if (own) return own;
    if (this.opts.templates) {
      const chain = await resolveTemplateChain(
        sandbox.spec.templateRef,
        this.ns(sandbox),
        this.opts.templates,
      );
      const fromTemplate = mergeTemplateChain(chain).storage?.accessMode;
      if (fromTemplate) return fromTemplate;
    }
    return this.opts.accessMode ?? 'ReadWriteOnce';
  }

  /** Tools to verify and init scripts, from the merged template chain. */
  private async harnessExtras(sandbox: Sandbox): Promise<HarnessExtras> {
    if (!this.opts.templates) return {};
    const chain = await resolveTemplateChain(sandbox.spec.templateRef, this.ns(sandbox), this.opts.templates);
    const merged: TemplateSpec = mergeTemplateChain(chain);
    // Template only, appended parent first (as the seed product merges them).
    const scripts = chain.flatMap((t) => t.spec.initScripts ?? []);
    return {
      ...(merged.harness?.tools?.length ? { tools: merged.harness.tools } : {}),
      ...(scripts.length ? { initScripts: scripts } : {}),
    };
  }

  /**
   * Creates a child, or accepts the existing one if it is ours (and returns it). Anything else under
   * the name is never touched: one left by an earlier sandbox of the same name is the garbage
   * collector's to delete, and the pass waits for it; someone else's is reported as a conflict while
   * the sandbox waits until the name is free.
   */
  private async ensureChild<T extends ChildObject>(
    kind: string,
    name: string,
    sandbox: Sandbox,
    create: () => Promise<unknown>,
    read: () => Promise<T>,
  ): Promise<T | undefined> {
    const what = `${kind} ${name}`;
    try {
      await create();
      return undefined;
    } catch (err) {
      if (!isAlreadyExists(err)) throw toPlatformError(err, what);
    }
    const existing = await orUndefined(read()).catch((err: unknown) => {
      throw toPlatformError(err, what);
    });
    if (!existing) throw new PlatformError('UNAVAILABLE', `${what} went away while being created; retrying`);
    const who = ownership(existing, sandbox);
    if (who === 'ours') return existing;
    if (who === 'foreign') {
      throw new ForeignChildError(kind, this.ns(sandbox), name, sandbox);
    }
    throw earlierSandboxsChild(kind, name);
  }

  /**
   * The sandbox's ServiceAccount with the template's annotations; an existing one gets the ones that
   * changed (each start, so a template edit reaches the next start). Annotations removed from the
   * template stay until the sandbox is deleted.
   */
  private async ensureServiceAccount(
    sandbox: Sandbox,
    names: ChildNames,
    annotations: Record<string, string> | undefined,
  ): Promise<void> {
    const namespace = this.ns(sandbox);
    const name = names.serviceAccount;
    const existing = await this.ensureChild(
      'ServiceAccount',
      name,
      sandbox,
      () =>
        this.core.createNamespacedServiceAccount({
          namespace,
          body: buildServiceAccount(sandbox, annotations),
        }),
      () => this.core.readNamespacedServiceAccount({ namespace, name }),
    );
    const have = existing?.metadata?.annotations ?? {};
    if (!existing || Object.entries(annotations ?? {}).every(([k, v]) => have[k] === v)) return;
    await this.core
      .replaceNamespacedServiceAccount({
        namespace,
        name,
        body: {
          ...existing,
          metadata: { ...existing.metadata, annotations: { ...have, ...annotations } },
        },
      })
      .catch((err: unknown) => {
        throw toPlatformError(err, `ServiceAccount ${name}`);
      });
  }

  /**
   * Every Secret the sandbox's credentials name may be given to it (credentialSecretProblem): checked
   * before each pod, so a Secret that is missing, not meant for sandboxes or another user's puts the
   * sandbox in Error with the reason instead of a pod the kubelet cannot start (or, worse, one that
   * mounts the platform's own Secrets).
   */
  private async checkCredentialSecrets(sandbox: Sandbox, effective: EffectiveSandbox): Promise<void> {
    const namespace = this.ns(sandbox);
    // The CRD cannot say which fields go together, nor where the workspace is: checked here.
    const shape = [
      ...(effective.credentials ?? []).flatMap((c, i) => {
        const p = credentialShapeProblem(c);
        return p ? [`credentials.${i}.${p.field} ${p.message}`] : [];
      }),
      ...credentialProblems(effective).map((d) => `${d.field}: ${d.message}`),
    ];
    if (shape.length) throw new TerminalError('UNPROCESSABLE', shape.join('; '));
    for (const ref of effective.credentials ?? []) {
      const secret = await orUndefined(
        this.core.readNamespacedSecret({ namespace, name: ref.secretName }),
      ).catch((err: unknown) => {
        throw toPlatformError(err, `Secret ${ref.secretName}`);
      });
      const owner = secret?.metadata?.annotations?.[ANNOTATION_CREDENTIAL_OWNER];
      if (owner !== undefined && !sandbox.spec.createdBy) {
        // Retried, not final: the router records the creator right after it creates the Sandbox,
        // and this pass may have come first. A Sandbox made around the router never gets one.
        throw new PlatformError(
          'UNAVAILABLE',
          `Secret "${ref.secretName}" is user ${owner}'s, and only sandboxes that user created through the router may use it; this sandbox has no creator recorded by the router`,
        );
      }
      const problem = credentialSecretProblem(sandbox, ref, secret);
      if (problem) throw new TerminalError('UNPROCESSABLE', problem);
    }
  }

  /**
   * A new token for the pod about to start (no pod of this sandbox exists now), in the sandbox's own
   * Secret; returns it. The pod mounts it, and carries its digest so the router can tell a token
   * meant for it from one meant for a later start.
   */
  private async ensureTokenSecret(sandbox: Sandbox, names: ChildNames): Promise<string> {
    const namespace = this.ns(sandbox);
    const name = names.tokenSecret;
    const token = newSandboxdToken();
    const body = buildTokenSecret(sandbox, token);
    const existing = await this.ensureChild(
      'Secret',
      name,
      sandbox,
      () => this.core.createNamespacedSecret({ namespace, body }),
      () => this.core.readNamespacedSecret({ namespace, name }),
    );
    if (!existing) return token;
    try {
      if (existing.immutable) {
        // Written by a version that derived tokens from an install key: replace it once.
        await this.core.deleteNamespacedSecret({
          namespace,
          name,
          body: { preconditions: { uid: existing.metadata?.uid ?? '' } },
        });
        throw new PlatformError('UNAVAILABLE', `replacing the immutable Secret ${name} with a per-start one`);
      }
      await this.core.replaceNamespacedSecret({
        namespace,
        name,
        body: {
          ...body,
          metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion },
        },
      });
      return token;
    } catch (err) {
      throw toPlatformError(err, `Secret ${name}`);
    }
  }

  /** Applied at every (re)start, so a template's network change reaches the sandbox when it next starts. */
  private async ensureNetworkPolicy(
    sandbox: Sandbox,
    effective: EffectiveSandbox,
    names: ChildNames,
  ): Promise<void> {
    const namespace = this.ns(sandbox);
    const domains = effective.network.allowInternet ? [] : effective.network.allowedDomains;
    const resolution = await resolveDomains(domains, this.opts.resolver ?? systemResolver);
    if (resolution.unresolved.length) {
      this.logger.warn(
        { sandbox: `${namespace}/${sandbox.metadata.name}`, domains: resolution.unresolved },
        'allowed domains not resolved',
      );
    }
    const desired = buildNetworkPolicy({
      sandbox,
      effective,
      router: this.opts.router,
      resolvedIps: resolution.ips,
      ...(this.opts.blockedCidrs ? { blockedCidrs: this.opts.blockedCidrs } : {}),
      ...(this.opts.dns ? { dns: this.opts.dns } : {}),
    });
    const name = names.networkPolicy;
    const current = await this.ensureChild(
      'NetworkPolicy',
      name,
      sandbox,
      () => this.net.createNamespacedNetworkPolicy({ namespace, body: desired }),
      () => this.net.readNamespacedNetworkPolicy({ namespace, name }),
    );
    // Replaced only when ours, and only the version we read (a 409 re-reads on the next pass).
    if (!current || sameNetworkPolicy(current, desired)) return;
    try {
      await this.net.replaceNamespacedNetworkPolicy({
        namespace,
        name: names.networkPolicy,
        body: {
          ...desired,
          metadata: { ...desired.metadata, resourceVersion: current.metadata?.resourceVersion },
        },
      });
    } catch (err) {
      throw toPlatformError(err, `network policy ${names.networkPolicy}`);
    }
  }

  /** Deletes exactly the pod that was read (a precondition on its uid), never a successor under its name. */
  private async deletePod(namespace: string, pod: V1Pod, gracePeriodSeconds?: number): Promise<boolean> {
    const name = pod.metadata?.name ?? '';
    try {
      await this.core.deleteNamespacedPod({
        namespace,
        name,
        ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
        body: { preconditions: { uid: pod.metadata?.uid ?? '' } },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw toPlatformError(err, `pod ${name}`);
    }
  }

  /** Stop: the pod goes (with its grace period); the workspace claim stays. Someone else's pod stays. */
  async removeWorkload(sandbox: Sandbox): Promise<ChildOutcome> {
    const names = childNames(sandbox);
    const pod = await this.readPod(sandbox, names).catch((err: unknown) => {
      throw toPlatformError(err, `pod ${names.pod}`);
    });
    if (!pod || ownership(pod, sandbox) !== 'ours') return 'unchanged';
    return (await this.deletePod(this.ns(sandbox), pod)) ? 'deleted' : 'unchanged';
  }

  async removeVolume(sandbox: Sandbox): Promise<ChildOutcome> {
    const names = childNames(sandbox);
    const what = `workspace claim ${names.pvc}`;
    const pvc = await this.readPvc(sandbox, names).catch((err: unknown) => {
      throw toPlatformError(err, what);
    });
    if (!pvc || ownership(pvc, sandbox) !== 'ours') return 'unchanged';
    try {
      await this.core.deleteNamespacedPersistentVolumeClaim({
        namespace: this.ns(sandbox),
        name: names.pvc,
        body: { preconditions: { uid: pvc.metadata?.uid ?? '' } },
      });
      return 'deleted';
    } catch (err) {
      if (isNotFound(err)) return 'unchanged';
      throw toPlatformError(err, what);
    }
  }

  async listOwned(): Promise<OwnedChild[]> {
    const labelSelector = POD_SELECTOR;
    const each = async <T>(
      all: () => Promise<{ items: T[] }>,
      one: (ns: string) => Promise<{ items: T[] }>,
    ) => {
      const scopes = this.pods.namespaces;
      if (!scopes) return (await withRetry(all, { idempotent: true })).items;
      const lists = await Promise.all(scopes.map((ns) => withRetry(() => one(ns), { idempotent: true })));
      return lists.flatMap((l) => l.items);
    };
    const [pods, pvcs] = await Promise.all([
      each(
        () => this.core.listPodForAllNamespaces({ labelSelector }),
        (namespace) => this.core.listNamespacedPod({ namespace, labelSelector }),
      ),
      each(
        () => this.core.listPersistentVolumeClaimForAllNamespaces({ labelSelector }),
        (namespace) => this.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
      ),
    ]);
    const child = (
      type: OwnedChild['type'],
      o: { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } },
    ): OwnedChild => ({
      type,
      name: o.metadata?.name ?? '',
      namespace: o.metadata?.namespace ?? '',
      sandboxName: o.metadata?.labels?.[LABEL_SANDBOX] ?? '',
      sandboxUid: o.metadata?.labels?.[LABEL_SANDBOX_UID] ?? '',
    });
    // Labels alone prove nothing (anyone can set them): only objects that carry an owner reference
    // to the Sandbox their label names are candidates.
    const referenced = (o: {
      metadata?: { labels?: Record<string, string>; ownerReferences?: V1OwnerReference[] };
    }) =>
      Boolean(o.metadata?.labels?.[LABEL_SANDBOX_UID]) &&
      sandboxRefTo(o.metadata?.ownerReferences, o.metadata?.labels?.[LABEL_SANDBOX_UID] ?? '');
    return [
      ...pods.filter(referenced).map((p) => child('workload', p)),
      ...pvcs.filter(referenced).map((p) => child('volume', p)),
    ];
  }

  /**
   * An orphan: a child whose Sandbox is gone. Kubernetes' garbage collector deletes these through
   * their owner references; this only does it sooner. The object is read again and deleted only if
   * it still carries an owner reference to that Sandbox, with a precondition on the uid read, so
   * nothing else under the name (someone's object labelled like ours, a successor) is ever deleted.
   * A child whose owner reference someone removed (`--cascade=orphan`) is theirs now, and stays.
   */
  async removeOwned(child: OwnedChild): Promise<void> {
    const { namespace, name } = child;
    try {
      const obj: { metadata?: { uid?: string; ownerReferences?: V1OwnerReference[] } } =
        child.type === 'workload'
          ? await this.core.readNamespacedPod({ namespace, name })
          : await this.core.readNamespacedPersistentVolumeClaim({ namespace, name });
      const uid = obj.metadata?.uid;
      if (!uid || !sandboxRefTo(obj.metadata?.ownerReferences, child.sandboxUid)) return;
      const body = { preconditions: { uid } };
      if (child.type === 'workload') await this.core.deleteNamespacedPod({ namespace, name, body });
      else await this.core.deleteNamespacedPersistentVolumeClaim({ namespace, name, body });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw toPlatformError(err, `${child.type} ${name}`);
    }
  }
}

/** Key-order-independent JSON (the API server and client-node reorder fields). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function sameNetworkPolicy(a: V1NetworkPolicy, b: V1NetworkPolicy): boolean {
  const pick = (p: V1NetworkPolicy) =>
    canonical({ spec: p.spec, domains: p.metadata?.annotations?.[ANNOTATION_ALLOWED_DOMAINS] ?? '' });
  return pick(a) === pick(b);
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The pass waits for the garbage collector (which deletes it) instead of deleting it itself. */
function earlierSandboxsChild(kind: string, name: string): PlatformError {
  return new PlatformError(
    'ALREADY_EXISTS',
    `${kind} ${name} belongs to an earlier sandbox of the same name; waiting for Kubernetes to collect it`,
  );
}

/** An owner reference to the Sandbox with this uid (the exact API version and kind we write). */
function sandboxRefTo(refs: V1OwnerReference[] | undefined, uid: string): boolean {
  return (
    Boolean(uid) &&
    (refs ?? []).some((r) => r.uid === uid && r.apiVersion === API_VERSION && r.kind === 'Sandbox')
  );
}

function pvcOwnerUid(pvc: { metadata?: { ownerReferences?: Array<{ kind?: string; uid?: string }> } }) {
  return pvc.metadata?.ownerReferences?.find((r) => r.kind === 'Sandbox')?.uid;
}
