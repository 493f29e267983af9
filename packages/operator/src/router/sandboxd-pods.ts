import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Sandbox } from '@agenttier/contract';
import { LABEL_SANDBOX } from '@agenttier/contract';
import type { Logger } from '@agenttier/core';
import {
  ANNOTATION_TOKEN_SHA256,
  SANDBOXD_PORT,
  SandboxPodCache,
  childNames,
  isNotFound,
  ownedBy,
  tokenDigest,
  withRetry,
} from '@agenttier/platform-kubernetes';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { createSandboxdClient } from '@agenttier/sandboxd';

/** Reads one sandbox's token Secret (a namespaced get; the router may not list or watch Secrets). */
export type TokenReader = (namespace: string, secretName: string) => Promise<string | undefined>;

export function secretTokenReader(kc: KubeConfig): TokenReader {
  const core = kc.makeApiClient(CoreV1Api);
  return async (namespace, name) => {
    try {
      const s = await withRetry(() => core.readNamespacedSecret({ namespace, name }), { idempotent: true });
      const b64 = s.data?.token;
      return b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
}

/**
 * Where each sandbox's sandboxd answers: its pod's IP (from a watched cache of sandbox pods, so
 * lookups are synchronous) on port 7070 (unless told otherwise), with that pod's own token. The
 * token is read from the sandbox's Secret as soon as the pod appears (before it is Running), kept per
 * pod, and used only when its digest matches the one the controller put on the pod: a token rotated
 * for a later start, or a pod that was not started with it, gets nothing. One client per pod
 * incarnation, reused across requests.
 */
export class SandboxdPods {
  private readonly pods: SandboxPodCache;
  private readonly clients = new Map<string, SandboxdClient>();
  /** Token per pod uid. */
  private readonly tokens = new Map<string, string>();
  private readonly fetching = new Map<string, Promise<void>>();

  constructor(
    kc: KubeConfig,
    private readonly logger: Logger,
    private readonly port: number = SANDBOXD_PORT,
    private readonly readToken: TokenReader = secretTokenReader(kc),
    /** Watch sandbox pods only in these namespaces (unset: every namespace). */
    namespaces?: string[],
  ) {
    this.pods = new SandboxPodCache({
      kubeConfig: kc,
      ...(namespaces?.length ? { namespaces } : {}),
      onError: (err, during) => logger.warn({ during, err: String(err) }, 'pod informer error; retrying'),
    });
    this.pods.on((type, pod) => {
      const uid = pod.metadata?.uid;
      if (!uid) return;
      // A pod that goes away takes its client and token with it.
      if (type === 'DELETED') {
        this.drop(uid);
        this.tokens.delete(uid);
      } else void this.fetchToken(pod);
    });
  }

  /** Starts the pod cache; resolves once it is synced and the running pods' tokens are read. */
  async start(): Promise<void> {
    await this.pods.start();
    await Promise.all(this.fetching.values());
  }

  get hasSynced(): boolean {
    return this.pods.hasSynced;
  }

  /** Reads a pod's token once (concurrent callers share the read); failures are retried on the next event or lookup. */
  private fetchToken(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const digest = pod.metadata?.annotations?.[ANNOTATION_TOKEN_SHA256];
    const sandboxName = pod.metadata?.labels?.[LABEL_SANDBOX];
    const namespace = pod.metadata?.namespace;
    if (!uid || !digest || !sandboxName || !namespace || pod.metadata?.deletionTimestamp)
      return Promise.resolve();
    if (this.tokens.has(uid)) return Promise.resolve();
    const inFlight = this.fetching.get(uid);
    if (inFlight) return inFlight;
    const secret = childNames({ metadata: { name: sandboxName } }).tokenSecret;
    const p = this.readToken(namespace, secret)
      .then((token) => {
        if (token && tokenDigest(token) === digest) this.tokens.set(uid, token);
        else this.logger.warn({ pod: `${namespace}/${pod.metadata?.name}` }, 'no token for this pod start');
      })
      .catch((err: unknown) =>
        this.logger.warn(
          { pod: `${namespace}/${pod.metadata?.name}`, err: String(err) },
          'reading the sandboxd token failed',
        ),
      )
      .finally(() => this.fetching.delete(uid));
    this.fetching.set(uid, p);
    return p;
  }

  private runningPod(sandbox: Sandbox): V1Pod | undefined {
    const pod = this.pods.get(sandbox.metadata.namespace ?? 'default', childNames(sandbox).pod);
    if (!pod || pod.metadata?.deletionTimestamp || !ownedBy(pod, sandbox)) return undefined;
    return pod.status?.podIP && pod.status?.phase === 'Running' ? pod : undefined;
  }

  /** The pod IP of a sandbox that has a running pod of its own. */
  podIp(sandbox: Sandbox): { ip: string; podUid: string } | undefined {
    const pod = this.runningPod(sandbox);
    return pod ? { ip: pod.status!.podIP!, podUid: pod.metadata?.uid ?? '' } : undefined;
  }

  clientFor(sandbox: Sandbox): SandboxdClient | undefined {
    const pod = this.runningPod(sandbox);
    if (!pod) return undefined;
    const podUid = pod.metadata?.uid ?? '';
    const ip = pod.status!.podIP!;
    const token = this.tokens.get(podUid);
    if (!token) {
      void this.fetchToken(pod);
      return undefined;
    }
    const key = `${podUid}@${ip}`;
    let client = this.clients.get(key);
    if (!client) {
      this.drop(podUid);
      client = createSandboxdClient({ host: ip, port: this.port }, token);
      this.clients.set(key, client);
    }
    return client;
  }

  /** Resolves when no token read is in flight (tests; the router's start). */
  async settled(): Promise<void> {
    await Promise.all(this.fetching.values());
  }

  private drop(podUid: string): void {
    for (const [k, c] of this.clients) {
      if (k.startsWith(`${podUid}@`)) {
        c.close();
        this.clients.delete(k);
      }
    }
  }

  stop(): void {
    this.pods.stop();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    this.tokens.clear();
  }
}
