// The in-process state of one fake cluster: storage, the registry of served types, the REST
// semantics, the controllers and the watch hub, wired together. The HTTP layer (handler.ts) and
// the test handle (server.ts) both work on this.
import { builtinTypes } from './builtin-types.ts';
import { crdResourceType } from './crd.ts';
import { Controllers } from './gc.ts';
import type { JsonObject } from './json.ts';
import { FakeKubelet } from './kubelet.ts';
import { Registry } from './registry.ts';
import { internalOptions, Rest } from './rest.ts';
import { Storage } from './storage.ts';
import { WatchHub } from './watch.ts';

export interface ClusterOpts {
  historyLimit?: number;
  controllerDelayMs?: number;
  bookmarkIntervalMs?: number;
  maxWatchSeconds?: number;
  /** Namespaces created at start besides default, kube-system, kube-public and kube-node-lease. */
  namespaces?: string[];
  /** The minor version of the Kubernetes 1.x release emulated where behaviour differs. @default 26 */
  emulatedMinor?: number;
}

const FAKE_CA = '-----BEGIN CERTIFICATE-----\nZmFrZS1rdWJlLXJvb3QtY2E=\n-----END CERTIFICATE-----\n';

export class Cluster {
  readonly storage: Storage;
  readonly registry = new Registry();
  readonly rest: Rest;
  readonly controllers: Controllers;
  readonly watches: WatchHub;
  readonly kubelet: FakeKubelet;

  constructor(opts: ClusterOpts = {}) {
    this.storage = new Storage({ historyLimit: opts.historyLimit });
    for (const t of builtinTypes()) this.registry.set(t);
    this.registry.set(crdResourceType());
    // After every write the controllers and the kubelet react (each on its own timer: pausing the
    // controllers does not stop the kubelet, as on a real cluster).
    this.rest = new Rest(this.storage, this.registry, () => {
      this.controllers.schedule();
      this.kubelet.schedule();
    });
    this.rest.emulatedMinor = opts.emulatedMinor ?? 26;
    this.controllers = new Controllers(this.rest, this.storage, this.registry, {
      delayMs: opts.controllerDelayMs,
      namespaceDefaults: (ns) => this.ensureNamespaceDefaults(ns),
    });
    this.watches = new WatchHub(this.storage, this.rest, {
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      maxWatchSeconds: opts.maxWatchSeconds,
    });
    this.kubelet = new FakeKubelet(this.rest, this.registry, { delayMs: opts.controllerDelayMs });
    for (const ns of [
      'default',
      'kube-system',
      'kube-public',
      'kube-node-lease',
      ...(opts.namespaces ?? []),
    ]) {
      this.createNamespace(ns);
    }
  }

  private createNamespace(name: string): void {
    const t = this.registry.get('', 'namespaces');
    if (!t || this.storage.get(t.storageKey, undefined, name)) return;
    this.rest.create(
      { type: t, version: 'v1' },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      internalOptions('kube-apiserver'),
    );
    this.ensureNamespaceDefaults(name);
  }

  /** What the serviceaccount and root-ca-cert-publisher controllers put in every namespace. */
  ensureNamespaceDefaults(ns: string): void {
    const sa = this.registry.get('', 'serviceaccounts');
    const cm = this.registry.get('', 'configmaps');
    const opts = internalOptions('kube-controller-manager');
    if (sa && !this.storage.get(sa.storageKey, ns, 'default')) {
      this.rest.create(
        { type: sa, version: 'v1', namespace: ns },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } },
        opts,
      );
    }
    if (cm && !this.storage.get(cm.storageKey, ns, 'kube-root-ca.crt')) {
      const body: JsonObject = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'kube-root-ca.crt',
          annotations: {
            'kubernetes.io/description':
              'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
          },
        },
        data: { 'ca.crt': FAKE_CA },
      };
      this.rest.create({ type: cm, version: 'v1', namespace: ns }, body, opts);
    }
  }

  close(): void {
    this.controllers.stop();
    this.kubelet.stop();
    this.watches.close();
  }
}
