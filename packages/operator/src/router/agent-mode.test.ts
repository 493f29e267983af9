// Agent mode through the in-cluster router: the fake API server holds the Sandbox and its pod, a real
// sandboxd runs on this host (on loopback, with the token the router derives from the install key) and
// the pod's IP points at it, so configure and invoke take the same path as in a cluster. Invoke records
// live in the router's SQLite data directory and outlive the router process.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import type { ControllerProcess } from '../controller/start-controller.ts';
import { SSEParser } from '@agenttier/contract/sse';
import { startClusterWithController, startTestRouter } from '../testing/index.ts';
import { eventually } from '@agenttier/testkit';
import type { RouterProcess } from './start-router.ts';

const agentPy = readFileSync(new URL('../../../../examples/echo-agent/agent.py', import.meta.url), 'utf8');

interface SseRecord {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

async function collectSse(res: Response): Promise<SseRecord[]> {
  const parser = new SSEParser();
  return parser.push(await res.text()).map((ev) => ({
    event: ev.event,
    data: JSON.parse(ev.data) as Record<string, unknown>,
    ...(ev.id !== undefined ? { id: ev.id } : {}),
  }));
}

/** The host's Python (resolved, so the daemon's HOME does not matter to pyenv-style shims), if any. */
function hostPython(): string | undefined {
  try {
    return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('agent mode on the Kubernetes router (records in the router data directory)', () => {
  const work = mkdtempSync(join(tmpdir(), 'agenttier-router-agent-'));
  // The template's mount point (the agent's working directory). Not under /tmp: the CRD, evaluated
  // by the fake as by a real API server, refuses system directories such as /tmp as a mount point.
  const mountDir = mkdtempSync(join(homedir(), 'agenttier-router-agent-'));
  const workspace = join(work, 'workspace');
  const scratch = join(work, 'tmp');
  const dataDir = join(work, 'router-data');
  const python = hostPython();
  let fake: FakeKubeApiServer;
  let controller: ControllerProcess;
  let router: RouterProcess;
  let sandboxd: LocalSandboxd | undefined;
  let sandboxdPort: number;

  const startAgentRouter = () =>
    startTestRouter(fake, {
      devAuth: true,
      dataDir,
      sandboxdPort,
    });
  const url = (path: string) => `${router.url}/api/v1/sandboxes/k8s-agent${path}`;

  beforeAll(async () => {
    for (const d of [workspace, scratch]) mkdirSync(d, { recursive: true });
    sandboxdPort = await freePort();
    ({ fake, controller } = await startClusterWithController());
    // An agent template whose workspace is a directory on this host (the sandbox "mounts" it there).
    await controller.store.create<SandboxTemplate>({
      apiVersion: API_VERSION,
      kind: 'ClusterSandboxTemplate',
      metadata: { name: 'host-agent' },
      spec: {
        mode: 'agent',
        image: { repository: 'agenttier/minimal-shell:dev' },
        storage: { size: '1Gi', mountPath: mountDir },
      },
    });
    router = await startAgentRouter();

    const created = await fetch(`${router.url}/api/v1/sandboxes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'k8s-agent', template: 'host-agent' }),
    });
    expect(created.status).toBe(201);
    const sb = await eventually(
      () => router.store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'k8s-agent' }),
      'the sandbox in the store',
    );
    await eventually(
      () => controller.runtime.core.readNamespacedPod({ namespace: 'default', name: 'k8s-agent-pod' }),
      'the pod',
    );
    // sandboxd as the pod would run it: TCP, with the token of this start from the sandbox's Secret.
    const secret = await controller.runtime.core.readNamespacedSecret({
      namespace: 'default',
      name: 'k8s-agent-sandboxd-token',
    });
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, Buffer.from(secret.data!.token!, 'base64'), { mode: 0o600 });
    expect(sb.metadata.uid).toBeTruthy();
    sandboxd = await startLocalSandboxd({
      roots: [workspace, scratch],
      cwd: workspace,
      listen: `127.0.0.1:${sandboxdPort}`,
      env: { AGENTTIER_SANDBOXD_TOKEN_FILE: tokenFile },
    });
    fake.kubelet.markRunning('default', 'k8s-agent-pod', { podIP: '127.0.0.1' });
    await eventually(
      async () => ((await (await fetch(url(''))).json()) as { status?: string }).status === 'Running',
      'Running',
    );
  }, 120_000);

  afterAll(async () => {
    await router?.close();
    await controller?.close();
    await sandboxd?.stop();
    await fake?.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(mountDir, { recursive: true, force: true });
  });

  it('configures the agent through the router (files, install, entrypoint) and serves the install log', async () => {
    const entrypoint = python
      ? [python, join(workspace, 'agent.py')]
      : ['sh', '-c', 'read line; echo "hello $line"'];
    const res = await fetch(url('/configure'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        files: [{ path: join(workspace, 'agent.py'), content: agentPy }],
        installCommand: ['sh', '-c', 'echo installing on the pod'],
        entrypoint,
      }),
    });
    expect(res.status).toBe(200);
    const events = await collectSse(res);
    expect(events.at(-1)).toMatchObject({ event: 'result', data: { installExitCode: 0, skipped: false } });
    expect(events.map((e) => e.data.data)).toContain('installing on the pod');
    expect(readFileSync(join(workspace, 'agent.py'), 'utf8')).toBe(agentPy);
    // The configure result lands in the Sandbox's status (the custom resource), like on the local platform.
    const cr = await eventually(async () => {
      const sb = await router.store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'k8s-agent' });
      return sb?.status?.agentConfigure?.entrypoint?.length ? sb : undefined;
    }, 'status.agentConfigure');
    expect(cr.status?.agentConfigure?.entrypoint).toEqual(entrypoint);
    const log = await fetch(url('/configure/install-log'));
    expect(log.status).toBe(200);
    expect(await log.text()).toContain('installing on the pod');
    // The read API on the Kubernetes router: the install argv and file paths survived the custom
    // resource's schema (a field the CRD does not declare would be pruned by the API server).
    const cfg = await fetch(url('/agent/config'));
    expect(cfg.status).toBe(200);
    expect(await cfg.json()).toMatchObject({
      configured: true,
      entrypoint,
      installCommand: ['sh', '-c', 'echo installing on the pod'],
      files: [{ path: join(workspace, 'agent.py'), sizeBytes: Buffer.byteLength(agentPy) }],
      installExitCode: 0,
    });
  });

  it("answers the sandbox's usage (router → sandboxd on the pod's address) and its events feed", async () => {
    const usage = await fetch(url('/usage'));
    expect(usage.status).toBe(200);
    const u = (await usage.json()) as { sandboxId: string; memory: { bytes: number } | null; cgroup: string };
    expect(u.sandboxId).toBe('k8s-agent');
    expect(u.cgroup).toMatch(/^v[12]$/);
    expect(u.memory?.bytes).toBeGreaterThan(0);
    await controller.events.flush();
    const events = await eventually(async () => {
      const r = (await (await fetch(url('/events'))).json()) as { events: Array<{ reason: string }> };
      return r.events.some((e) => e.reason === 'Running') && r.events;
    }, 'the Running event in the feed');
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Provisioned', 'Created', 'Running']),
    );
  });

  it('removes a label with a JSON merge patch (null) on the custom resource', async () => {
    const patch = (body: unknown) =>
      fetch(url(''), {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await patch({ labels: { team: 'ml', stale: 'yes' } })).status).toBe(200);
    expect((await patch({ labels: { stale: null, absent: null } })).status).toBe(200);
    const sb = await router.store.get<Sandbox>('Sandbox', { namespace: 'default', name: 'k8s-agent' });
    expect(sb?.metadata.labels).toMatchObject({ team: 'ml' });
    expect(sb?.metadata.labels).not.toHaveProperty('stale');
    const bad = await patch({ timeout: null });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { details: Array<{ field: string }> }).details).toEqual([
      expect.objectContaining({ field: 'timeout' }),
    ]);
  });

  let invokeId = '';

  it('invokes the agent through the router, records the run and lists it', async () => {
    const res = await fetch(url('/invoke'), {
      method: 'POST',
      // octet-stream: a string body would go out as text/plain, which the router refuses on POST.
      headers: { accept: 'text/event-stream', 'content-type': 'application/octet-stream' },
      body: python ? 'count 3' : 'world',
    });
    expect(res.status).toBe(200);
    const events = await collectSse(res);
    expect(events[0]!.event).toBe('start');
    invokeId = events[0]!.data.invokeId as string;
    expect(invokeId).toMatch(/^inv-/);
    const lines = events.filter((e) => e.event === 'log').map((e) => e.data.data);
    expect(lines).toEqual(python ? ['1', '2', '3'] : ['hello world']);
    expect(events.at(-1)).toMatchObject({
      event: 'exit',
      data: { invokeId, exitCode: 0, reason: 'completed' },
    });

    const one = await eventually(async () => {
      const r = (await (await fetch(url(`/invokes/${invokeId}`))).json()) as Record<string, unknown>;
      return r.state === 'finished' ? r : undefined;
    }, 'the finished record');
    expect(one).toMatchObject({ invokeId, sandbox: 'k8s-agent', exitCode: 0, reason: 'completed' });
    const list = (await (await fetch(url('/invokes'))).json()) as { invokes: Array<{ invokeId: string }> };
    expect(list.invokes.map((i) => i.invokeId)).toEqual([invokeId]);
    for (const path of ['/invokes/inv-nope', '/invokes/inv-nope/stream']) {
      const missing = await fetch(url(path));
      expect([missing.status, ((await missing.json()) as { code: string }).code], path).toEqual([
        404,
        'INVOKE_NOT_FOUND',
      ]);
    }
  });

  it('keeps the records across a router restart: listed, fetched and replayed by the new process', async () => {
    await router.close();
    router = await startAgentRouter();
    const list = (await (await fetch(url('/invokes'))).json()) as {
      invokes: Array<{ invokeId: string; exitCode: number }>;
    };
    expect(list.invokes).toMatchObject([{ invokeId, exitCode: 0 }]);
    const replay = await collectSse(
      await fetch(url(`/invokes/${invokeId}/stream`), { headers: { accept: 'text/event-stream' } }),
    );
    expect(replay.map((e) => e.event)).toEqual(
      python ? ['start', 'log', 'log', 'log', 'exit'] : ['start', 'log', 'exit'],
    );
    // A fresh router reaches the same sandboxd and the configure status it left in the Sandbox.
    const again = await collectSse(
      await fetch(url('/invoke'), {
        method: 'POST',
        headers: { accept: 'text/event-stream', 'content-type': 'application/octet-stream' },
        body: python ? 'echo after restart' : 'again',
      }),
    );
    expect(again.filter((e) => e.event === 'log').map((e) => e.data.data)).toEqual([
      python ? 'after restart' : 'hello again',
    ]);
    const after = (await (await fetch(url('/invokes'))).json()) as { invokes: Array<{ invokeId: string }> };
    expect(after.invokes).toHaveLength(2);
    expect(after.invokes.map((i) => i.invokeId)).toContain(invokeId);
  });

  it('keeps the agent rules: 400 for a code-mode sandbox, 404 for an unknown one', async () => {
    const created = await fetch(`${router.url}/api/v1/sandboxes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'k8s-code', template: 'minimal-shell' }),
    });
    expect(created.status).toBe(201);
    const code = await fetch(`${router.url}/api/v1/sandboxes/k8s-code/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'x',
    });
    expect(code.status).toBe(400);
    expect(((await code.json()) as { code: string }).code).toBe('WRONG_MODE');
    const missing = await fetch(`${router.url}/api/v1/sandboxes/nope/invokes`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${router.url}/api/v1/sandboxes/k8s-code`, { method: 'DELETE' })).status).toBe(204);
  });
});
