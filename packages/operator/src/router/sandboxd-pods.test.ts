import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Sandbox } from '@agenttier/contract';
import { API_GROUP, API_VERSION } from '@agenttier/contract';
import { silentLogger } from '@agenttier/core';
import { newSandboxdToken, ownerReference, tokenDigest } from '@agenttier/platform-kubernetes';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeCluster } from '../testing/index.ts';
import { eventually } from '@agenttier/testkit';
import { SandboxdPods } from './sandboxd-pods.ts';

const NS = 'default';

/** A stand-in sandboxd that records the bearer token each request carries. */
async function recordingDaemon() {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version: 'test', pid: 1 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { seen, port: (server.address() as AddressInfo).port, close: () => server.close() };
}

describe("the router's sandboxd credentials: one token per pod start, read from that sandbox's Secret", () => {
  let fake: FakeKubeApiServer;
  let core: CoreV1Api;
  let pods: SandboxdPods;
  let daemon: Awaited<ReturnType<typeof recordingDaemon>>;

  beforeEach(async () => {
    fake = await startFakeCluster();
    core = fake.kubeConfig.makeApiClient(CoreV1Api);
    daemon = await recordingDaemon();
    pods = new SandboxdPods(fake.kubeConfig, silentLogger, daemon.port);
    await pods.start();
  });
  afterEach(async () => {
    pods.stop();
    daemon.close();
    await fake.close();
  });

  /** What the controller leaves for one start: the Secret with the token, a Running pod with its digest. */
  async function started(name: string, opts: { token: string; digestOf?: string }): Promise<Sandbox> {
    // A real Sandbox object: its children carry an owner reference to it, which is what ownership is.
    const sandbox = (await fake.kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION.split('/')[1]!,
      namespace: NS,
      plural: 'sandboxes',
      body: {
        apiVersion: API_VERSION,
        kind: 'Sandbox',
        metadata: { name, namespace: NS },
        spec: { templateRef: { name: 't', kind: 'ClusterSandboxTemplate' } },
      },
    })) as Sandbox;
    const ownerReferences = [ownerReference(sandbox)];
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: `${name}-sandboxd-token`, ownerReferences },
        stringData: { token: opts.token },
      },
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: {
          name: `${name}-pod`,
          labels: { 'agenttier.io/managed': 'true', 'agenttier.io/sandbox': name },
          ownerReferences,
          annotations: { 'agenttier.io/sandboxd-token-sha256': tokenDigest(opts.digestOf ?? opts.token) },
        },
        spec: { containers: [{ name: 'sandbox', image: 'x' }] },
      },
    });
    fake.kubelet.markRunning(NS, `${name}-pod`, { podIP: '127.0.0.1' });
    return sandbox;
  }

  it("uses each sandbox's own token, read by name when its pod appears", async () => {
    const [ta, tb] = [newSandboxdToken(), newSandboxdToken()];
    const a = await started('sa', { token: ta });
    const b = await started('sb', { token: tb });
    const ca = await eventually(() => pods.clientFor(a), 'a client for a');
    const cb = await eventually(() => pods.clientFor(b), 'a client for b');
    await ca.info();
    await cb.info();
    expect(daemon.seen).toEqual([`Bearer ${ta}`, `Bearer ${tb}`]);
    // Everything but the test's own creates: one namespaced get per sandbox, no list or watch.
    const reads = fake.requests.filter((r) => r.resource === 'secrets' && r.verb !== 'create');
    expect(reads.map((r) => `${r.verb} ${r.namespace}/${r.name}`).sort()).toEqual([
      'get default/sa-sandboxd-token',
      'get default/sb-sandboxd-token',
    ]);
  });

  it('gives no client to a pod whose start the Secret does not match (a rotated token, or a pod that was not started with it)', async () => {
    const sandbox = await started('sc', { token: newSandboxdToken(), digestOf: 'another start' });
    await eventually(() => pods.podIp(sandbox), 'the pod running');
    await pods.settled();
    expect(pods.clientFor(sandbox)).toBeUndefined();
    await pods.settled();
    expect(pods.clientFor(sandbox)).toBeUndefined();
    expect(daemon.seen).toEqual([]);
  });
});
