import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import type { SandboxTemplate } from '@agenttier/contract';
import type { OperatorHarness } from '../testing/operator-harness.ts';
import { eventually, startOperatorHarness } from '../testing/operator-harness.ts';
import { ANNOTATION_CREDENTIAL_OWNER, LABEL_CREDENTIAL } from './credential-secrets.ts';

const secret = (
  name: string,
  extra: Partial<V1Secret> & { labels?: Record<string, string>; owner?: string } = {},
): V1Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: extra.type ?? 'Opaque',
  metadata: {
    name,
    namespace: 'default',
    labels: extra.labels ?? { [LABEL_CREDENTIAL]: 'true' },
    ...(extra.owner ? { annotations: { [ANNOTATION_CREDENTIAL_OWNER]: extra.owner } } : {}),
  },
  data: extra.data ?? { TOKEN: Buffer.from('v').toString('base64') },
});

describe('operator on the fake API server: sandbox credentials', () => {
  let h: OperatorHarness;
  beforeEach(async () => {
    h = await startOperatorHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('mounts a labelled Secret as envFrom with its prefix and as a read-only 0440 secret volume', async () => {
    await h.core.createNamespacedSecret({ namespace: 'default', body: secret('gh') });
    await h.core.createNamespacedSecret({
      namespace: 'default',
      body: secret('ssh', { data: { 'id.pem': 'eA==' } }),
    });
    await h.createSandbox('withcreds', {
      credentials: [
        { secretName: 'gh', envPrefix: 'GH_' },
        { secretName: 'ssh', mountAs: 'file', mountPath: '/credentials/ssh' },
      ],
    });
    const pod = await eventually(() => h.pod('withcreds'), 'the pod');
    const main = pod.spec!.containers.find((c) => c.name === 'sandbox')!;
    expect(main.envFrom).toEqual([{ secretRef: { name: 'gh' }, prefix: 'GH_' }]);
    // No value is copied into the pod spec: the kubelet reads the Secret.
    expect(JSON.stringify(pod)).not.toContain(Buffer.from('v').toString('base64'));
    expect(main.volumeMounts).toContainEqual({
      name: 'cred-1',
      mountPath: '/credentials/ssh',
      readOnly: true,
    });
    expect(pod.spec!.volumes).toContainEqual({
      name: 'cred-1',
      secret: { secretName: 'ssh', defaultMode: 0o440 },
    });
  });

  it("refuses Secrets not meant for sandboxes: unlabelled, the platform's own, another user's, missing", async () => {
    await h.core.createNamespacedSecret({ namespace: 'default', body: secret('db', { labels: {} }) });
    await h.core.createNamespacedSecret({
      namespace: 'default',
      body: secret('sa-token', { type: 'kubernetes.io/service-account-token' }),
    });
    await h.core.createNamespacedSecret({ namespace: 'default', body: secret('alices', { owner: 'alice' }) });
    await h.createSandbox('victim');
    await eventually(() => h.pod('victim'), 'the victim pod');
    const cases: Array<[string, string, RegExp]> = [
      ['unlabelled', 'db', /not labelled for sandboxes/],
      ['token', 'victim-sandboxd-token', /belongs to the platform/],
      ['satoken', 'sa-token', /belongs to the platform/],
      ['theft', 'alices', /another user's/],
      ['missing', 'nope', /not found in namespace "default"/],
    ];
    for (const [name, secretName] of cases) {
      await h.createSandbox(name, { createdBy: { sub: 'mallory' }, credentials: [{ secretName }] });
    }
    for (const [name, , message] of cases) {
      const sb = await eventually(async () => {
        const s = await h.getSandbox(name);
        return s?.status?.phase === 'Error' ? s : undefined;
      }, `${name} in Error`);
      expect(sb.status?.message, name).toMatch(message);
      expect(await h.pod(name), name).toBeUndefined();
    }
  });

  it("gives a user's own annotated Secret to that user's sandbox", async () => {
    await h.core.createNamespacedSecret({ namespace: 'default', body: secret('mine', { owner: 'alice' }) });
    await h.createSandbox('alices-box', {
      createdBy: { sub: 'alice' },
      credentials: [{ secretName: 'mine' }],
    });
    const pod = await eventually(() => h.pod('alices-box'), 'the pod');
    expect(pod.spec!.containers[0]!.envFrom).toEqual([{ secretRef: { name: 'mine' } }]);
  });

  it('annotates the sandbox ServiceAccount from the template (workload identity), and updates it at the next start', async () => {
    const template = (arn: string): SandboxTemplate => ({
      apiVersion: 'agenttier.io/v1alpha1',
      kind: 'ClusterSandboxTemplate',
      metadata: { name: 'irsa' },
      spec: { serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': arn } } },
    });
    await h.store.create(template('arn:aws:iam::1:role/a'));
    await h.createSandbox('irsa-box', { templateRef: { name: 'irsa', kind: 'ClusterSandboxTemplate' } });
    await eventually(() => h.pod('irsa-box'), 'the pod');
    const sa = () => h.core.readNamespacedServiceAccount({ namespace: 'default', name: 'irsa-box-sa' });
    expect((await sa()).metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::1:role/a');
    expect((await sa()).automountServiceAccountToken).toBe(false);
    const stored = await h.store.get<SandboxTemplate>('ClusterSandboxTemplate', { name: 'irsa' });
    await h.store.update({ ...stored!, spec: template('arn:aws:iam::1:role/b').spec });
    await h.core.deleteNamespacedPod({ namespace: 'default', name: 'irsa-box-pod' });
    await eventually(
      async () =>
        (await sa()).metadata?.annotations?.['eks.amazonaws.com/role-arn'] === 'arn:aws:iam::1:role/b',
      'the new annotation',
    );
  });
});
