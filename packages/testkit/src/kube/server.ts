// startFakeKubeApiServer: an HTTP(S) server on 127.0.0.1:0 that the real @kubernetes/client-node
// and the real kubectl talk to unchanged, plus the in-process test handle (faults, kubelet, request
// log). See ./README.md for what it models and what it does not.
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { Cluster } from './cluster.ts';
import { minorOf } from './discovery.ts';
import type { VersionInfo } from './discovery.ts';
import type { Failure, FaultMatch } from './faults.ts';
import { Handler } from './handler.ts';
import type { RequestRecord } from './handler.ts';
import type { JsonObject } from './json.ts';
import type { FakeKubelet } from './kubelet.ts';
import { selfSignedCert, writeKubeconfig } from './kubeconfig.ts';
import { internalOptions } from './rest.ts';

export interface FakeKubeApiServerOpts {
  /**
   * Serve HTTPS with a self-signed certificate (put in the kubeconfig as its CA). kubectl sends
   * bearer tokens only over TLS, so plain HTTP also turns token auth off by default.
   * @default true
   */
  tls?: boolean;
  /** Bearer token clients must send; `false` turns auth off. @default a random token (none over plain HTTP) */
  token?: string | false;
  /** Watch-history window; older resourceVersions answer 410 Expired. @default 10000 events */
  historyLimit?: number;
  /** Delay before the GC, namespace and CRD controllers react to a write. @default 5 */
  controllerDelayMs?: number;
  /** Interval of BOOKMARK events on watches that allow them. @default 60000 */
  bookmarkIntervalMs?: number;
  /** Server-side cap on watches without timeoutSeconds. @default 1800 */
  maxWatchSeconds?: number;
  /**
   * The Kubernetes release emulated: /version, and the few behaviours that differ between 1.26 and
   * current releases (discovery's singularName, legacy error groups, CRD `fieldPath`). @default 1.26
   */
  version?: VersionInfo;
  /** Extra namespaces to create at start. */
  namespaces?: string[];
}

/** Test-only controls, outside the Kubernetes API. */
export interface FakeKubeFaults {
  /** The next `count` requests matching `match` fail with `failure` (a watch with 410 gets an ERROR event). */
  failNext(count: number, match: FaultMatch, failure: Failure): void;
  /** The next `count` matching requests are answered `delayMs` late. */
  delayNext(count: number, match: FaultMatch, delayMs: number): void;
  /** Ends every open watch, cleanly by default or by resetting the connection. Returns how many. */
  dropWatches(opts?: { abrupt?: boolean }): number;
  /** The next `count` watches start with ERROR 410 Expired, whatever their resourceVersion. */
  expireNextWatches(count?: number): void;
  /** Forgets the event history up to now: watching from any earlier resourceVersion gives 410. */
  compact(): void;
  /** Sends a BOOKMARK now on every watch that allows them. */
  bookmarkNow(): void;
  /** Holds the GC, namespace and CRD controllers (e.g. to observe an owner before its dependents go). */
  pauseControllers(): void;
  resumeControllers(): void;
  /** Runs the controllers synchronously until they settle. */
  runControllersNow(): void;
  /** Drops pending failNext/delayNext rules. */
  clear(): void;
}

export interface FakeKubeApiServer {
  /** e.g. `http://127.0.0.1:41233` */
  url: string;
  /** A kubeconfig for kubectl and KubeConfig.loadFromFile; removed by close(). */
  kubeconfigPath: string;
  /** A KubeConfig already loaded from kubeconfigPath. */
  kubeConfig: KubeConfig;
  token: string | undefined;
  faults: FakeKubeFaults;
  /** Stands in for the scheduler and kubelet: drives Pod status. */
  kubelet: FakeKubelet;
  /** Every request served so far, in order (method, path, verb, resource, user agent, field manager, code). */
  requests: RequestRecord[];
  /** Creates objects as an admin would (through validation and admission), bypassing the network. */
  seed(objects: JsonObject | JsonObject[]): JsonObject[];
  /** Current revision of the fake's storage (the resourceVersion the next list would report). */
  resourceVersion(): number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startFakeKubeApiServer(opts: FakeKubeApiServerOpts = {}): Promise<FakeKubeApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
  const tls = opts.tls ?? true;
  const token =
    opts.token === false ? undefined : (opts.token ?? (tls ? randomBytes(16).toString('hex') : undefined));
  const version = opts.version ?? { major: '1', minor: '26' };
  const cluster = new Cluster({
    historyLimit: opts.historyLimit,
    controllerDelayMs: opts.controllerDelayMs,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    maxWatchSeconds: opts.maxWatchSeconds,
    namespaces: opts.namespaces,
    emulatedMinor: minorOf(version),
  });
  // No compaction at start: a fresh real apiserver's watch cache still replays a watch from
  // resourceVersion 1 (as current objects plus later events); 410 comes once history is dropped.
  cluster.controllers.runNow();
  const handler = new Handler(cluster, { token, version });
  const listener = (req: Parameters<Handler['handle']>[0], res: Parameters<Handler['handle']>[1]) => {
    void handler.handle(req, res);
  };
  let server: Server;
  let caPem: string | undefined;
  if (tls) {
    const { key, cert } = selfSignedCert(dir);
    caPem = cert;
    server = createHttpsServer({ key, cert }, listener);
  } else {
    server = createHttpServer(listener);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const kubeconfigPath = writeKubeconfig(dir, { server: url, token, caPem });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);

  const faults: FakeKubeFaults = {
    failNext: (count, match, failure) => handler.faults.add({ remaining: count, match, failure }),
    delayNext: (count, match, delayMs) => handler.faults.add({ remaining: count, match, delayMs }),
    dropWatches: (o) => cluster.watches.dropAll(o?.abrupt ?? false),
    expireNextWatches: (count = 1) => cluster.watches.expireNextWatches(count),
    compact: () => cluster.storage.compact(),
    bookmarkNow: () => cluster.watches.bookmarkNow(),
    pauseControllers: () => cluster.controllers.pause(),
    resumeControllers: () => cluster.controllers.resume(),
    runControllersNow: () => cluster.controllers.runNow(),
    clear: () => handler.faults.clear(),
  };

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    cluster.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };

  return {
    url,
    kubeconfigPath,
    kubeConfig,
    token,
    faults,
    kubelet: cluster.kubelet,
    requests: handler.log,
    seed(objects) {
      const out: JsonObject[] = [];
      for (const o of Array.isArray(objects) ? objects : [objects]) {
        const apiVersion = String(o.apiVersion ?? '');
        const [g, v] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
        const t = cluster.registry.byKind(g ?? '', String(o.kind ?? ''));
        if (!t) throw new Error(`fake kube-apiserver does not serve ${apiVersion} ${String(o.kind)}`);
        const meta = (o.metadata ?? {}) as JsonObject;
        const res = cluster.rest.create(
          {
            type: t,
            version: v ?? t.storageVersion,
            namespace: t.namespaced ? String(meta.namespace ?? 'default') : undefined,
          },
          o,
          internalOptions('seed'),
        );
        out.push(res.body);
      }
      return out;
    },
    resourceVersion: () => cluster.storage.currentRv(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
