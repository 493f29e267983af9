// `agenttier install`, `agenttier controller` and `agenttier router` against the fake kube-apiserver
// (the real @kubernetes/client-node on the wire; the fake's kubelet stands in for nodes).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeKubeApiServer } from '@agenttier/testkit/kube';
import { eventually as waitUntil } from '@agenttier/testkit';
import { runCli, scratch, startCli } from '../../testing/run-cli.ts';
import type { StartedCli } from '../../testing/run-cli.ts';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

/** Waits up to 15 s: these tests start whole processes. */
const eventually = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string) =>
  waitUntil(fn, what, 15_000);

/** The JSON a long-running command prints on stdout with `-o json` once it runs. */
async function started(cli: StartedCli, what: string): Promise<Record<string, string>> {
  return eventually(() => {
    if (cli.stdout.text.trim() === '') return undefined;
    return JSON.parse(cli.stdout.text) as Record<string, string>;
  }, `${what} to start (stderr: ${cli.stderr.text})`);
}

describe('agenttier install --render', () => {
  it('prints every manifest as YAML documents: CRDs, namespace, RBAC, both Deployments, templates', async () => {
    const r = await runCli(['install', '--render', '-n', 'at-test']);
    expect(r.code).toBe(0);
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJSON() as Obj);
    const kinds = objects.map((o) => o.kind);
    expect(kinds.filter((k) => k === 'CustomResourceDefinition')).toHaveLength(3);
    expect(objects.find((o) => o.kind === 'Namespace')?.metadata.name).toBe('at-test');
    expect(
      objects.filter((o) => o.kind === 'Deployment').map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    ).toEqual(['at-test/agenttier-controller', 'at-test/agenttier-router']);
    expect(kinds).toContain('ClusterSandboxTemplate');
    expect(kinds).not.toContain('RuntimeClass');
  });

  it('adds a RuntimeClass with --gvisor or --runtime-class, leaves CRDs and namespace out on request, and prints a List with -o json', async () => {
    const r = await runCli([
      'install',
      '--render',
      '--gvisor',
      '--no-crds',
      '--no-create-namespace',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { kind: string; items: Array<Obj & { handler?: string }> };
    expect(list.kind).toBe('List');
    expect(list.items.find((o) => o.kind === 'RuntimeClass')).toMatchObject({ handler: 'runsc' });
    expect(list.items.some((o) => o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace')).toBe(
      false,
    );
    const kata = await runCli(['install', '--render', '--runtime-class', 'kata=kata-qemu', '-o', 'json']);
    expect(
      (JSON.parse(kata.stdout) as typeof list).items.find((o) => o.kind === 'RuntimeClass'),
    ).toMatchObject({
      metadata: { name: 'kata' },
      handler: 'kata-qemu',
    });
  });

  it('says what to do without --render or --apply, with both, or with a bad --runtime-class (exit 2)', async () => {
    const none = await runCli(['install']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--render or --apply');
    expect((await runCli(['install', '--render', '--apply'])).code).toBe(2);
    const bad = await runCli(['install', '--render', '--runtime-class', 'gVisor']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('NAME=HANDLER');
  });

  it('explains every command in --help', async () => {
    for (const cmd of ['install', 'controller', 'router']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('--kubeconfig');
      expect(r.stdout).toContain('Examples:');
    }
  });
});

describe('agenttier install --apply, controller and router on the fake API server', () => {
  let fake: FakeKubeApiServer;
  let home: Awaited<ReturnType<typeof scratch>>;
  const running: StartedCli[] = [];
  const kube = () => ['--kubeconfig', fake.kubeconfigPath];

  beforeAll(async () => {
    fake = await startFakeKubeApiServer();
    home = await scratch();
  });
  afterAll(async () => {
    for (const c of running) c.abort();
    await Promise.all(running.map((c) => c.done));
    await fake?.close();
    await home?.cleanup();
  });

  it('refuses to start without a kubeconfig, with a missing file, before install, or when the server is down', async () => {
    const none = await runCli(['controller'], { env: { HOME: home.dir } });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no Kubernetes configuration');
    expect(none.stderr).toContain('--kubeconfig');

    const missing = await runCli(['router', '--kubeconfig', join(home.dir, 'absent.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('absent.yaml does not exist');

    const before = await runCli(['controller', ...kube(), '--health-port', '0', '--metrics-port', '0']);
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('CRDs (agenttier.io) are not installed');
    expect(before.stderr).toContain('agenttier install --apply');

    const down = join(home.dir, 'down.yaml');
    writeFileSync(
      down,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        'users: [{name: u, user: {}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    const unreachable = await runCli(['install', '--apply', '--kubeconfig', down]);
    expect(unreachable.code).toBe(6);
    expect(unreachable.stderr).toContain('cannot reach the Kubernetes API server');
    expect(unreachable.stderr).toContain('kubectl cluster-info');
  });

  it('install --apply server-side applies everything (again without conflicts); controller and router start, answer /healthz and run a sandbox', async () => {
    const applied = await runCli(['install', '--apply', ...kube(), '-o', 'json']);
    expect(applied.code, applied.stderr).toBe(0);
    const ext = fake.kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
    for (const plural of ['sandboxes', 'sandboxtemplates', 'clustersandboxtemplates']) {
      const crd = await ext.readCustomResourceDefinition({ name: `${plural}.agenttier.io` });
      expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    }
    const report = JSON.parse(applied.stdout) as { applied: Array<{ kind: string; name: string }> };
    expect(report.applied.map((a) => a.kind)).toContain('ClusterSandboxTemplate');
    const fields = fake.requests.filter((r) => r.fieldManager === 'agenttier-install');
    expect(fields.length).toBeGreaterThan(10);
    const again = await runCli(['install', '--apply', ...kube()]);
    expect(again.code, again.stderr).toBe(0);

    const controller = startCli(
      [
        'controller',
        ...kube(),
        '--health-port',
        '0',
        '--metrics-port',
        '0',
        '--log-level',
        'silent',
        '-o',
        'json',
      ],
      { env: { HOME: home.dir } },
    );
    running.push(controller);
    const c = await started(controller, 'the controller');
    expect(c.namespace).toBe('agenttier');
    expect(await (await fetch(`${c.healthUrl}/healthz`)).text()).toBe('ok');
    expect((await fetch(`${c.metricsUrl}/metrics`)).status).toBe(200);

    const router = startCli(
      ['router', ...kube(), '-p', '0', '--dev-auth', '--log-level', 'silent', '-o', 'json'],
      {
        env: { HOME: home.dir },
      },
    );
    running.push(router);
    const { url, agentRecords } = await started(router, 'the router');
    expect(await (await fetch(`${url}/healthz`)).text()).toBe('ok');
    expect(router.stderr.text).toContain('--dev-auth');

    const created = await fetch(`${url}/api/v1/sandboxes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cli-demo', template: 'minimal-shell' }),
    });
    expect(created.status).toBe(201);
    const core = fake.kubeConfig.makeApiClient(k8s.CoreV1Api);
    await eventually(() => core.readNamespacedPod({ namespace: 'default', name: 'cli-demo-pod' }), 'the pod');
    fake.kubelet.markRunning('default', 'cli-demo-pod');
    const view = await eventually(async () => {
      const body = (await (await fetch(`${url}/api/v1/sandboxes/cli-demo`)).json()) as Record<string, string>;
      return body.status === 'Running' ? body : undefined;
    }, 'Running');
    expect(view).toMatchObject({ podName: 'cli-demo-pod', pvcName: 'cli-demo-workspace' });

    // Agent mode is served (records under the default data directory, in HOME): a code-mode sandbox gets
    // the agent rules' 400, and its (empty) invoke list comes from the router's record store.
    expect(agentRecords).toBe(join(home.dir, '.agenttier', 'router', 'agent-records.db'));
    const invoke = await fetch(`${url}/api/v1/sandboxes/cli-demo/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'hi',
    });
    expect(invoke.status).toBe(400);
    expect(((await invoke.json()) as { code: string }).code).toBe('WRONG_MODE');
    const invokes = await fetch(`${url}/api/v1/sandboxes/cli-demo/invokes`);
    expect(await invokes.json()).toEqual({ invokes: [] });

    expect((await fetch(`${url}/api/v1/sandboxes/cli-demo`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => (await fetch(`${url}/api/v1/sandboxes/cli-demo`)).status === 404, 'deleted');

    for (const cli of [router, controller]) {
      cli.abort();
      expect(await cli.done).toBe(0);
      expect(cli.stderr.text).toContain('Stopped.');
    }
    await expect(fetch(`${c.healthUrl}/healthz`)).rejects.toThrow();
  });
});
