// Behaviour of the fake beyond the Kubernetes API: fault injection, the kubelet stand-in, the
// request log, seeding, auth and transport modes. (API behaviour is pinned by the conformance suite.)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApiServer } from './server.ts';
import type { FakeKubeApiServer } from './server.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => T | Promise<T>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

function statusOf(e: unknown): {
  code: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
} {
  const err = e as { code: number; body: string; headers: Record<string, string> };
  return { code: err.code, body: JSON.parse(err.body) as Record<string, unknown>, headers: err.headers };
}

describe('fake kube-apiserver test hooks', () => {
  let fake: FakeKubeApiServer;
  let core: k8s.CoreV1Api;
  let ns = 0;
  const newNs = async () => {
    const name = `hooks-${++ns}`;
    await core.createNamespace({ body: { metadata: { name } } });
    return name;
  };

  beforeAll(async () => {
    fake = await startFakeKubeApiServer();
    core = fake.kubeConfig.makeApiClient(k8s.CoreV1Api);
  });
  afterAll(async () => {
    await fake.close();
  });

  it('fails the next matching requests with 429 + Retry-After, 409 and 500, then recovers', async () => {
    const n = await newNs();
    fake.faults.failNext(1, { verb: 'create', resource: 'configmaps' }, { code: 429, retryAfterSeconds: 2 });
    fake.faults.failNext(
      1,
      { verb: 'create', resource: 'configmaps' },
      { code: 429, retryAfterSeconds: 3, format: 'status' },
    );
    fake.faults.failNext(1, { verb: 'create', resource: 'configmaps' }, { code: 500 });
    const create = () =>
      core
        .createNamespacedConfigMap({ namespace: n, body: { metadata: { name: 'a' } } })
        .catch((e: unknown) => e);
    // An overloaded apiserver throttles in an HTTP filter: plain text, not a Status.
    const throttled = (await create()) as { code: number; body: string; headers: Record<string, string> };
    expect(throttled.code).toBe(429);
    expect(throttled.headers['retry-after']).toBe('2');
    expect(throttled.headers['content-type']).toMatch(/^text\/plain/);
    expect(throttled.body).toBe('Too many requests, please try again later.\n');
    const e1 = statusOf(await create());
    expect(e1.code).toBe(429);
    expect(e1.headers['retry-after']).toBe('3');
    expect(e1.body).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } });
    const e2 = statusOf(
      await core
        .createNamespacedConfigMap({ namespace: n, body: { metadata: { name: 'a' } } })
        .catch((e) => e),
    );
    expect(e2.code).toBe(500);
    expect(e2.body).toMatchObject({
      reason: 'InternalError',
      message: 'Internal error occurred: injected fault',
    });
    await core.createNamespacedConfigMap({ namespace: n, body: { metadata: { name: 'a' } } });
    fake.faults.failNext(1, { verb: 'update', predicate: (r) => r.name === 'a' }, { code: 409 });
    const cm = await core.readNamespacedConfigMap({ namespace: n, name: 'a' });
    const e3 = statusOf(
      await core.replaceNamespacedConfigMap({ namespace: n, name: 'a', body: cm }).catch((e) => e),
    );
    expect(e3.body).toMatchObject({ reason: 'Conflict', code: 409 });
  });

  it('delays matching requests', async () => {
    const n = await newNs();
    fake.faults.delayNext(1, { verb: 'list', namespace: n }, 200);
    const t0 = Date.now();
    await core.listNamespacedConfigMap({ namespace: n });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('drops watches, and an informer reconnects from its resourceVersion', async () => {
    const n = await newNs();
    const path = `/api/v1/namespaces/${n}/configmaps`;
    const lists = () => fake.requests.filter((r) => r.verb === 'list' && r.namespace === n).length;
    const inf = k8s.makeInformer(fake.kubeConfig, path, () => core.listNamespacedConfigMap({ namespace: n }));
    const added: string[] = [];
    inf.on('add', (o) => added.push(o.metadata?.name ?? ''));
    await inf.start();
    try {
      expect(fake.faults.dropWatches()).toBeGreaterThan(0);
      await core.createNamespacedConfigMap({ namespace: n, body: { metadata: { name: 'after-drop' } } });
      await until(() => added.includes('after-drop'));
      expect(lists()).toBe(1);

      // A write the informer missed, then compaction: its re-watch gets 410 and it relists.
      fake.faults.dropWatches();
      fake.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'missed', namespace: n } });
      fake.faults.compact();
      await until(() => lists() >= 2, 10_000);
      await until(() => added.includes('missed'));
      await core.createNamespacedConfigMap({ namespace: n, body: { metadata: { name: 'after-relist' } } });
      await until(() => added.includes('after-relist'), 10_000);
      // A reset connection is an error to client-node's ListWatch, which then stops for good
      // (the footgun of kubernetes-client/javascript#1933): the caller must restart it.
      const errors: unknown[] = [];
      inf.on('error', (e) => errors.push(e));
      fake.faults.dropWatches({ abrupt: true });
      await until(() => errors.length > 0);
    } finally {
      await inf.stop();
    }
  });

  it('expires the next watch and sends bookmarks on demand', async () => {
    const n = await newNs();
    const events: Array<[string, Record<string, unknown>]> = [];
    fake.faults.expireNextWatches(1);
    let done = false;
    await new k8s.Watch(fake.kubeConfig).watch(
      `/api/v1/namespaces/${n}/configmaps`,
      { resourceVersion: String(fake.resourceVersion()) },
      (t, o) => events.push([t, o as Record<string, unknown>]),
      () => (done = true),
    );
    await until(() => done);
    expect(events[0]?.[0]).toBe('ERROR');
    expect(events[0]?.[1]).toMatchObject({ code: 410, reason: 'Expired' });

    const marks: string[] = [];
    const ctl = await new k8s.Watch(fake.kubeConfig).watch(
      `/api/v1/namespaces/${n}/configmaps`,
      { resourceVersion: String(fake.resourceVersion()), allowWatchBookmarks: true },
      (t, o) =>
        marks.push(`${t} ${(o as { metadata: { resourceVersion: string } }).metadata.resourceVersion}`),
      () => {},
    );
    // Asked again until the watch is registered on the server and its first bookmark arrives.
    await until(() => {
      fake.faults.bookmarkNow();
      return marks.length > 0;
    });
    expect(marks[0]).toBe(`BOOKMARK ${fake.resourceVersion()}`);
    ctl.abort();
  });

  it('holds the garbage collector while controllers are paused', async () => {
    const n = await newNs();
    const owner = await core.createNamespacedConfigMap({
      namespace: n,
      body: { metadata: { name: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace: n,
      body: {
        metadata: {
          name: 'dep',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' },
          ],
        },
      },
    });
    fake.faults.pauseControllers();
    try {
      await core.deleteNamespacedConfigMap({ namespace: n, name: 'owner' });
      // A real pause, on purpose: the collector runs from a 5 ms timer after a write and nothing says
      // it would have run; ten of its delays. A slow machine can make this pass wrongly, never fail.
      await sleep(50);
      await core.readNamespacedConfigMap({ namespace: n, name: 'dep' });
      fake.faults.runControllersNow();
      await expect(core.readNamespacedConfigMap({ namespace: n, name: 'dep' })).rejects.toMatchObject({
        code: 404,
      });
    } finally {
      fake.faults.resumeControllers();
    }
  });

  it('drives pods through the kubelet stand-in, visible to watches', async () => {
    const n = await newNs();
    await until(() =>
      core.readNamespacedServiceAccount({ namespace: n, name: 'default' }).catch(() => undefined),
    );
    await core.createNamespacedPod({
      namespace: n,
      body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'img:1' }] } },
    });
    const seen: string[] = [];
    const ctl = await new k8s.Watch(fake.kubeConfig).watch(
      `/api/v1/namespaces/${n}/pods`,
      { resourceVersion: String(fake.resourceVersion()) },
      (t, o) => seen.push(`${t} ${(o as k8s.V1Pod).status?.phase}`),
      () => {},
    );
    fake.kubelet.markRunning(n, 'p', { podIP: '10.1.2.3' });
    const pod = await core.readNamespacedPod({ namespace: n, name: 'p' });
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.podIP).toBe('10.1.2.3');
    expect(pod.spec?.nodeName).toBe('fake-node');
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'c', ready: true, started: true });
    expect(
      pod.metadata?.managedFields?.some((m) => m.manager === 'kubelet' && m.subresource === 'status'),
    ).toBe(true);
    fake.kubelet.markFailed(n, 'p', { reason: 'OOMKilled', exitCode: 137 });
    const failed = await core.readNamespacedPod({ namespace: n, name: 'p' });
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.reason).toBe('OOMKilled');
    expect(failed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(137);
    await until(() => seen.includes('MODIFIED Failed'));
    expect(seen).toContain('MODIFIED Running');
    ctl.abort();
  });

  it('ends the graceful deletion of the pods its kubelet runs, unless terminations are held', async () => {
    const n = await newNs();
    await until(() =>
      core.readNamespacedServiceAccount({ namespace: n, name: 'default' }).catch(() => undefined),
    );
    const make = (name: string) =>
      core.createNamespacedPod({
        namespace: n,
        body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'img:1' }] } },
      });
    const exists = (name: string) =>
      core.readNamespacedPod({ namespace: n, name }).then(
        () => true,
        () => false,
      );
    await make('running');
    fake.kubelet.markRunning(n, 'running');
    const deleting = await core.deleteNamespacedPod({ namespace: n, name: 'running' });
    expect(deleting.metadata?.deletionGracePeriodSeconds).toBe(30);
    await until(async () => !(await exists('running')));

    await make('held');
    fake.kubelet.markRunning(n, 'held');
    fake.kubelet.holdTerminations();
    try {
      await core.deleteNamespacedPod({ namespace: n, name: 'held' });
      fake.faults.runControllersNow();
      const pod = await core.readNamespacedPod({ namespace: n, name: 'held' });
      expect(pod.metadata?.deletionTimestamp).toBeTruthy();
      // A status write while Terminating keeps the pod (it is not a finalizer-less deletion).
      fake.kubelet.markSucceeded(n, 'held');
      expect(await exists('held')).toBe(true);
    } finally {
      fake.kubelet.releaseTerminations();
    }
    expect(await exists('held')).toBe(false);
  });

  it('seeds objects and logs requests with user agent and field manager', async () => {
    const [cm] = fake.seed({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'seeded', namespace: 'default' },
      data: { a: '1' },
    });
    expect(cm?.metadata).toMatchObject({ name: 'seeded', namespace: 'default' });
    await core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'seeded', body: { data: { a: '2' } }, fieldManager: 'tester' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const last = fake.requests.findLast((r) => r.verb === 'patch');
    expect(last).toMatchObject({ resource: 'configmaps', name: 'seeded', fieldManager: 'tester', code: 200 });
    expect(last?.userAgent).toMatch(/^kubernetes-client-javascript\//);
  });

  it('serves scale subresources and stops serving a deleted CRD (after deleting its objects)', async () => {
    const n = await newNs();
    const apps = fake.kubeConfig.makeApiClient(k8s.AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: n,
      body: {
        metadata: { name: 'd' },
        spec: {
          selector: { matchLabels: { a: 'b' } },
          template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        },
      },
    });
    const scale = await apps.readNamespacedDeploymentScale({ namespace: n, name: 'd' });
    expect(scale.spec?.replicas).toBe(1);
    await apps.replaceNamespacedDeploymentScale({
      namespace: n,
      name: 'd',
      body: { ...scale, spec: { replicas: 4 } },
    });
    expect((await apps.readNamespacedDeployment({ namespace: n, name: 'd' })).spec?.replicas).toBe(4);

    const custom = fake.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'things.hooks.example.com' },
      spec: {
        group: 'hooks.example.com',
        scope: 'Namespaced',
        names: { plural: 'things', kind: 'Thing' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    fake.seed(crd);
    fake.faults.runControllersNow();
    const ids = { group: 'hooks.example.com', version: 'v1', namespace: n, plural: 'things' };
    await custom.createNamespacedCustomObject({
      ...ids,
      body: {
        apiVersion: 'hooks.example.com/v1',
        kind: 'Thing',
        metadata: { name: 't', finalizers: ['x.io/hold'] },
        anything: { goes: true },
      },
    });
    const ext = fake.kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.deleteCustomResourceDefinition({ name: 'things.hooks.example.com' });
    const deleting = await until(async () => {
      const t = await custom.getNamespacedCustomObject({ ...ids, name: 't' });
      return t.metadata.deletionTimestamp ? t : undefined;
    });
    expect(deleting.anything).toEqual({ goes: true });
    const refused = statusOf(
      await custom
        .createNamespacedCustomObject({
          ...ids,
          body: { apiVersion: 'hooks.example.com/v1', kind: 'Thing', metadata: { name: 'u' } },
        })
        .catch((e) => e),
    );
    expect(refused.code).toBe(405);
    await custom.patchNamespacedCustomObject(
      { ...ids, name: 't', body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await until(
      async () =>
        (await custom.listNamespacedCustomObject(ids).catch((e: { code: number }) => e)).code === 404,
    );
  });

  it('rejects a wrong bearer token (401) and protobuf-only clients (406)', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: fake.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'wrong' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    // client-node maps a declared 401 to an ApiException without a body.
    const e = (await kc
      .makeApiClient(k8s.CoreV1Api)
      .listNamespace()
      .catch((x: unknown) => x)) as { code: number };
    expect(e.code).toBe(401);
    const pb = statusOf(
      await core
        .listNamespace({}, k8s.setHeaderOptions('Accept', 'application/vnd.kubernetes.protobuf'))
        .catch((x) => x),
    );
    expect(pb.code).toBe(406);
  });
});

describe('fake kube-apiserver over plain HTTP', () => {
  it('serves client-node and kubectl without TLS (and without a token, which kubectl would not send)', async () => {
    const fake = await startFakeKubeApiServer({ tls: false });
    try {
      expect(fake.url).toMatch(/^http:\/\//);
      expect(fake.token).toBeUndefined();
      const list = await fake.kubeConfig.makeApiClient(k8s.CoreV1Api).listNamespace();
      expect(list.items.map((i) => i.metadata?.name)).toContain('default');
      const { stdout } = await run('kubectl', [
        '--kubeconfig',
        fake.kubeconfigPath,
        'get',
        'namespaces',
        '-o',
        'name',
      ]);
      expect(stdout).toContain('namespace/kube-system');
    } finally {
      await fake.close();
    }
  });
});
