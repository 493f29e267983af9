// The in-cluster path on a real node, as a cluster operator installs it: `helm install` of
// deploy/helm/agenttier (the controller with two replicas on a Lease, the router with its claim, the
// default templates), both running as pods from the locally built image, the router's first admin
// key from a Secret (auth.adminKeySecret); then the SDK, with that key, drives the router through
// `kubectl port-forward` on loopback: callers without it refused, create, exec, files, terminal,
// agent configure and invoke (router pod → sandbox pod's sandboxd), MCP at /mcp, the web UI signed in
// to in Chromium (the image carries the built UI), the leader's pod deleted and the
// standby taking over while sandboxes keep converging (stop, resume with the workspace kept, delete).
//
// scripts/kube.sh runs it on the real node of scripts/kube-node.sh (AGENTTIER_E2E_HELM_NODE=1), after
// the suites that run their own in-process controller (two controllers would fight over sandboxes).
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { AgentTier, AuthenticationError } from '@agenttier/sdk';
import type { Sandbox } from '@agenttier/sdk';
import { helmBinary } from '@agenttier/platform-kubernetes/testing';
import { LOOPBACK_ONLY_RESOLVER, launchChromium } from '@agenttier/testkit/browser';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describeOnRealCluster, eventually, realClusterSkipReason } from '@agenttier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const reason =
  realClusterSkipReason() ||
  (process.env.AGENTTIER_E2E_HELM_NODE === '1' ? '' : 'AGENTTIER_E2E_HELM_NODE is not 1 (needs a real node)');

const CHART = join(import.meta.dirname, '../../../../deploy/helm/agenttier');
const LEASE = 'agenttier-controller-leader';
const WAIT_MS =
  Number(process.env.AGENTTIER_E2E_WAIT_MS) > 0 ? Number(process.env.AGENTTIER_E2E_WAIT_MS) : 180_000;

/** `kubectl port-forward` to the router's Service on a free loopback port; resolves with its URL. */
function portForward(namespace: string, service: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    'kubectl',
    ['-n', namespace, 'port-forward', '--address', '127.0.0.1', `svc/${service}`, ':8080'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, child });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`kubectl port-forward exited (${code}): ${out}`)));
  });
}

describeOnRealCluster('helm install on a real node', { skipReason: reason }, () => {
  describe('helm install on a real node: controller (2 replicas, Lease) and router as pods', () => {
    const suffix = randomBytes(3).toString('hex');
    const ns = `agenttier-helm-${suffix}`;
    const sandboxNs = `agenttier-helm-sbx-${suffix}`;
    const tag = process.env.AGENTTIER_E2E_HELM_TAG ?? 'kube-node';
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const leases = kc.makeApiClient(CoordinationV1Api);
    const helm = (...args: string[]) =>
      execFileSync(helmBinary(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    let forward: ChildProcess | undefined;
    let client: AgentTier;
    let routerUrl = '';
    // The release's first admin key (auth.adminKeySecret): atk_ and 43 letters and digits.
    const adminKey = `atk_${randomBytes(64)
      .toString('base64')
      .replace(/[^0-9A-Za-z]/g, '')
      .slice(0, 43)}`;
    let box: Sandbox;
    let installed = false;

    const ready = (name: string, replicas: number) =>
      eventually(
        async () => {
          const d = await apps.readNamespacedDeployment({ namespace: ns, name });
          return (d.status?.readyReplicas ?? 0) === replicas && (d.status?.replicas ?? 0) === replicas;
        },
        `deployment ${name} to have ${replicas} ready replica(s)`,
        WAIT_MS,
      );
    const controllerPods = async () =>
      (
        await core.listNamespacedPod({
          namespace: ns,
          labelSelector: 'app.kubernetes.io/component=controller',
        })
      ).items;
    const holder = async () =>
      (await leases.readNamespacedLease({ namespace: ns, name: LEASE })).spec?.holderIdentity ?? '';

    beforeAll(async () => {
      await core.createNamespace({ body: { metadata: { name: sandboxNs } } });
      // The Secret the chart's router reads its admin key from, created first as an operator would.
      await core.createNamespace({ body: { metadata: { name: ns } } });
      await core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 'agenttier-admin-key' }, stringData: { adminKey } },
      });
      helm(
        'install',
        'agenttier',
        CHART,
        '--namespace',
        ns,
        '--create-namespace',
        '--set',
        `global.tag=${tag}`,
        '--set',
        'templates.tag=dev',
        '--set',
        'controller.replicas=2',
        '--set',
        'auth.adminKeySecret.name=agenttier-admin-key',
        '--set',
        `rbac.sandboxNamespaces={${sandboxNs}}`,
        '--set',
        `defaults.sandboxNamespace=${sandboxNs}`,
      );
      installed = true;
      await ready('agenttier-controller', 2);
      await ready('agenttier-router', 1);
      const fwd = await portForward(ns, 'agenttier-router');
      forward = fwd.child;
      routerUrl = fwd.url;
      // `env: {}`: no key from this machine's CLI config; the SDK sends the release's admin key.
      client = new AgentTier({ apiUrl: fwd.url, apiKey: adminKey, env: {} });
    }, 300_000);

    afterAll(async () => {
      // Sandboxes first, while the controller still runs and releases their finalizers.
      await client
        ?.listSandboxes({ namespace: sandboxNs })
        .then((all) => Promise.all(all.map((s) => s.delete().catch(() => undefined))))
        .then(() =>
          eventually(
            async () => (await client.listSandboxes({ namespace: sandboxNs })).length === 0,
            'the sandboxes to be gone',
            WAIT_MS,
          ),
        )
        .catch(() => undefined);
      forward?.kill();
      if (installed) {
        try {
          helm('uninstall', 'agenttier', '--namespace', ns, '--wait', '--timeout', '120s');
        } catch {
          // the namespaces go below either way
        }
      }
      await core.deleteNamespace({ name: sandboxNs }).catch(() => undefined);
      await core.deleteNamespace({ name: ns }).catch(() => undefined);
    }, 300_000);

    it('runs two controller pods, one of them holding the Lease (MicroTime renewals)', async () => {
      const pods = await controllerPods();
      expect(pods).toHaveLength(2);
      const lease = await eventually(
        async () => {
          const spec = (await leases.readNamespacedLease({ namespace: ns, name: LEASE })).spec;
          return spec?.holderIdentity ? spec : undefined;
        },
        'a controller pod to hold the Lease',
        WAIT_MS,
      );
      expect(pods.map((p) => p.metadata?.name)).toContain(lease.holderIdentity);
      expect(String(lease.renewTime)).toMatch(/\.\d{6}Z$/);
    });

    it('the router takes the admin key from the Secret and refuses callers without it', async () => {
      expect(await client.currentUser()).toMatchObject({ isAdmin: true, authMethod: 'api-key' });
      for (const apiKey of [undefined, `atk_${'0'.repeat(43)}`]) {
        const stranger = new AgentTier({ apiUrl: routerUrl, env: {}, ...(apiKey ? { apiKey } : {}) });
        await expect(stranger.listSandboxes({ namespace: sandboxNs })).rejects.toBeInstanceOf(
          AuthenticationError,
        );
      }
      // The key reaches the router through a secretKeyRef, never as a literal in the Deployment.
      const router = await apps.readNamespacedDeployment({ namespace: ns, name: 'agenttier-router' });
      expect(JSON.stringify(router)).not.toContain(adminKey);
    });

    it('creates a sandbox through the in-cluster router and reaches its sandboxd: exec, files, terminal', async () => {
      box = await client.createSandbox({
        name: 'helm-box',
        template: 'minimal-shell',
        namespace: sandboxNs,
        mode: 'agent',
      });
      await box.waitUntilRunning({ timeoutMs: WAIT_MS });
      expect(box.info).toMatchObject({ podName: 'helm-box-pod', pvcName: 'helm-box-workspace' });

      const ran = await box.exec(['sh', '-c', 'echo "out $(id -u)"; echo err >&2; exit 3']);
      expect(ran).toMatchObject({ exitCode: 3, stdout: 'out 1000\n', stderr: 'err\n' });

      await box.files.write('/workspace/notes/kept.txt', 'written through the router\n');
      expect(await box.files.readText('/workspace/notes/kept.txt')).toBe('written through the router\n');
      expect((await box.files.list('/workspace/notes')).map((e) => e.name)).toEqual(['kept.txt']);

      const term = await box.terminal({ reconnect: false });
      let output = '';
      term.on('output', (text) => (output += text));
      term.write('echo "sum=$((6*7))"\r');
      await eventually(() => output.includes('sum=42'), 'the terminal to answer', WAIT_MS);
      term.close();
    });

    it("contains the pod's exec trees and keeps sandboxd non-dumpable (reaper and prctl addon from the injector)", async () => {
      // The exec's parent is its agenttier-reaper; sandboxd's /proc entries are root's (PR_SET_DUMPABLE 0),
      // so the sandbox user cannot read its environment or attach to it.
      const probe = await box.exec([
        'sh',
        '-c',
        'read -r _ _ _ pp _ </proc/self/stat; cat /proc/$pp/comm; d=$(pgrep -P 1 -f "^/opt/agenttier/node/bin/node .*/opt/agenttier/sandboxd/sandboxd\\.mjs$"); ' +
          'stat -c %u /proc/$d/environ; cat /proc/$d/environ >/dev/null 2>&1 && echo readable || echo refused',
      ]);
      expect(probe.stdout).toBe('agenttier-reape\n0\nrefused\n');
      // An env-cleared double fork and a setsid child outlive nothing: they die with their exec.
      const escaped = await box.exec([
        'bash',
        '-c',
        "(env -i setsid sh -c 'sleep 8602 & sleep 8603' &); env -i setsid -f sleep 8604; " +
          'while [ "$(ps -eo args= | grep -c \'^sleep 860\')" -lt 3 ]; do sleep 0.05; done; echo started',
      ]);
      expect(escaped.stdout).toBe('started\n');
      await eventually(
        async () =>
          (await box.exec(['sh', '-c', "ps -eo args= | grep -c '^sleep 860' || true"])).stdout === '0\n',
        'the escapes to die with their exec',
        WAIT_MS,
      );
    });

    it('configures and invokes the agent through the router; the invoke is recorded', async () => {
      const configured = await box.agent.configure({
        files: [{ path: '/workspace/agent.sh', content: 'read line; echo "hello $line"\n' }],
        installCommand: ['sh', '-c', 'echo installing on the pod'],
        entrypoint: ['sh', '/workspace/agent.sh'],
      });
      expect(configured).toMatchObject({ installExitCode: 0 });
      const result = await box.agent.invoke({ input: 'cluster\n' });
      expect(result).toMatchObject({ exitCode: 0, stdout: 'hello cluster\n', reason: 'completed' });
      const records = await box.agent.invokes();
      expect(records.map((r) => r.invokeId)).toContain(result.invokeId);
    });

    it('serves MCP at /mcp from the router pod: a tool call runs in the sandbox pod as its caller', async () => {
      const initialize = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '0' },
        },
      };
      const refused = await fetch(`${routerUrl}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(initialize),
      });
      expect([refused.status, ((await refused.json()) as { code: string }).code]).toEqual([
        401,
        'UNAUTHENTICATED',
      ]);
      const mcp = new Client({ name: 'helm-node-mcp', version: '0' });
      await mcp.connect(
        new StreamableHTTPClientTransport(new URL(`${routerUrl}/mcp`), {
          requestInit: { headers: { 'x-api-key': adminKey } },
        }),
      );
      try {
        const res = (await mcp.callTool({
          name: 'sandbox_exec',
          arguments: { name: 'helm-box', namespace: sandboxNs, command: 'echo "mcp-$((40+2)) $(id -u)"' },
        })) as CallToolResult;
        const text = res.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
        expect(text).toContain('--- stdout ---\nmcp-42 1000');
      } finally {
        await mcp.close();
      }
    });

    it('serves the web UI from the router pod; a person signs in with the admin key in Chromium', async () => {
      const index = await fetch(`${routerUrl}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toContain('text/html');
      const html = await index.text();
      const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1];
      expect(script, html).toBeTruthy();
      expect((await fetch(new URL(script!, routerUrl))).status).toBe(200);

      const browser = await launchChromium({ hostResolverRules: LOOPBACK_ONLY_RESOLVER });
      try {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${routerUrl}/`);
        await page.getByRole('heading', { name: 'Sign in to AgentTier' }).waitFor({ timeout: WAIT_MS });
        await page.getByLabel('API key').fill(adminKey);
        const listed = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/sandboxes', {
          timeout: WAIT_MS,
        });
        await page.getByRole('button', { name: 'Sign in with API key' }).click();
        await page.getByTestId('identity').waitFor({ timeout: WAIT_MS });
        expect(await page.getByTestId('identity').innerText()).toContain('admin');
        const cookie = (await context.cookies()).find((c) => c.name === 'agenttier_session');
        expect(cookie).toMatchObject({ httpOnly: true });
        // The dashboard's data comes from the router's API with that session cookie, not the key.
        const list = await listed;
        expect(list.status()).toBe(200);
        expect(await list.request().headerValue('x-api-key')).toBeNull();
      } finally {
        await browser.close();
      }
    });

    it('hands over to the standby when the leader pod is deleted; sandboxes keep converging', async () => {
      const leader = await holder();
      const standby = (await controllerPods()).map((p) => p.metadata!.name!).find((n) => n !== leader);
      expect(standby).toBeTruthy();
      await core.deleteNamespacedPod({ namespace: ns, name: leader });
      const next = await eventually(
        async () => {
          const h = await holder();
          return h && h !== leader ? h : undefined;
        },
        'another controller pod to take the Lease',
        WAIT_MS,
      );
      const live = (await controllerPods()).filter((p) => !p.metadata?.deletionTimestamp);
      expect(live.map((p) => p.metadata?.name)).toContain(next);

      // The new leader reconciles: stop deletes the pod, resume starts a new one on the same claim.
      await box.stop();
      await box.waitUntilStopped({ timeoutMs: WAIT_MS });
      await box.resume();
      await box.waitUntilRunning({ timeoutMs: WAIT_MS });
      expect(await box.files.readText('/workspace/notes/kept.txt')).toBe('written through the router\n');
      await box.delete();
      await box.waitUntilDeleted({ timeoutMs: WAIT_MS });
      await ready('agenttier-controller', 2);
    });
  });
});
