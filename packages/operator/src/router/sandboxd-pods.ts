import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import type { Sandbox } from '@agenttier/contract';
import { LABEL_MANAGED } from '@agenttier/contract';
import type { Logger } from '@agenttier/core';
import {
  Reflector,
  SANDBOXD_PORT,
  childNames,
  ownedBy,
  sandboxdToken,
  withRetry,
} from '@agenttier/platform-kubernetes';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { createSandboxdClient } from '@agenttier/sandboxd';

const SELECTOR = `${LABEL_MANAGED}=true`;

/**
 * Where each sandbox's sandboxd answers: its pod's IP (from a watched cache of sandbox pods, so
 * lookups are synchronous) on port 7070 (unless told otherwise), with the token derived from the install key. One client per
 * pod incarnation, reused across requests.
 */
export class SandboxdPods {
  private readonly pods: Reflector<V1Pod>;
  private readonly clients = new Map<string, SandboxdClient>();

  constructor(
    kc: KubeConfig,
    private readonly key: Buffer,
    logger: Logger,
    private readonly port: number = SANDBOXD_PORT,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    this.pods = new Reflector<V1Pod>({
      name: 'pods',
      watch: new Watch(kc),
      watchPath: '/api/v1/pods',
      labelSelector: SELECTOR,
      list: (page) =>
        withRetry(
          () =>
            core.listPodForAllNamespaces({
              labelSelector: SELECTOR,
              limit: page.limit,
              ...(page.continue ? { _continue: page.continue } : {}),
            }),
          { idempotent: true },
        ) as never,
      onError: (err, during) => logger.warn({ during, err: String(err) }, 'pod informer error; retrying'),
    });
    // A pod that goes away takes its client with it.
    this.pods.on((type, pod) => {
      if (type === 'DELETED' && pod.metadata?.uid) this.drop(pod.metadata.uid);
    });
  }

  start(): Promise<void> {
    return this.pods.start();
  }

  get hasSynced(): boolean {
    return this.pods.hasSynced;
  }

  /** The pod IP of a sandbox that has a running pod of its own. */
  podIp(sandbox: Sandbox): { ip: string; podUid: string } | undefined {
    const pod = this.pods.get(`${sandbox.metadata.namespace ?? 'default'}/${childNames(sandbox).pod}`);
    if (!pod || pod.metadata?.deletionTimestamp || !ownedBy(pod, sandbox)) return undefined;
    const ip = pod.status?.podIP;
    return ip && pod.status?.phase === 'Running' ? { ip, podUid: pod.metadata?.uid ?? '' } : undefined;
  }

  clientFor(sandbox: Sandbox): SandboxdClient | undefined {
    const at = this.podIp(sandbox);
    if (!at) return undefined;
    const key = `${at.podUid}@${at.ip}`;
    let client = this.clients.get(key);
    if (!client) {
      this.drop(at.podUid);
      client = createSandboxdClient(
        { host: at.ip, port: this.port },
        sandboxdToken(this.key, sandbox.metadata.uid ?? ''),
      );
      this.clients.set(key, client);
    }
    return client;
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
  }
}
