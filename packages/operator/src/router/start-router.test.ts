import { generateApiKey } from '@agenttier/server';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate } from '@marcbachmann/cel-js';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import type { CelRule, JsonSchema } from '@agenttier/platform-kubernetes';
import { buildCrd, kubeStatusOf } from '@agenttier/platform-kubernetes';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import type { ControllerProcess } from '../controller/start-controller.ts';
import { startClusterWithController, startTestRouter } from '../testing/index.ts';
import { eventually } from '@agenttier/testkit';
import type { RouterProcess } from './start-router.ts';

/** The routers' invoke-record stores (agent mode), removed after the tests. */
const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-router-data-'));

async function api(router: RouterProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${router.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** The CRD schema node at a dotted path (`env[0].name`) under spec. */
function crdNode(path: string): JsonSchema {
  let node = (
    buildCrd('Sandbox') as { spec: { versions: Array<{ schema: { openAPIV3Schema: JsonSchema } }> } }
  ).spec.versions[0]!.schema.openAPIV3Schema;
  for (const part of ['spec', ...path.replace(/\[\d+\]/g, '').split('.')]) {
    if (node.type === 'array') node = node.items as JsonSchema;
    node = (node.properties as Record<string, JsonSchema>)[part]!;
  }
  return node;
}

describe('agenttier router (process) with the Kubernetes store', () => {
  let fake: FakeKubeApiServer;
  let controller: ControllerProcess;
  let router: RouterProcess;

  beforeAll(async () => {
    ({ fake, controller } = await startClusterWithController());
    router = await startTestRouter(fake, {
      devAuth: true,
      dataDir,
    });
  });
  afterAll(async () => {
    await router?.close();
    await controller?.close();
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates, lists, stops and resumes sandboxes as custom resources the controller drives', async () => {
    const created = await api(router, 'POST', '/api/v1/sandboxes', {
      name: 'via-rest',
      template: 'minimal-shell',
    });
    expect(created.status).toBe(201);
    const cr = (await fake.kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: 'agenttier.io',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'sandboxes',
      name: 'via-rest',
    })) as Sandbox;
    expect(cr.spec.templateRef).toEqual({ name: 'minimal-shell', kind: 'ClusterSandboxTemplate' });
    expect(cr.spec.createdBy?.sub).toBe('dev-user');
    await eventually(
      () => controller.runtime.core.readNamespacedPod({ namespace: 'default', name: 'via-rest-pod' }),
      'pod',
    );
    fake.kubelet.markRunning('default', 'via-rest-pod');
    await eventually(
      async () => (await api(router, 'GET', '/api/v1/sandboxes/via-rest')).body?.status === 'Running',
      'Running',
    );
    const list = await api(router, 'GET', '/api/v1/sandboxes');
    expect((list.body?.sandboxes as Array<{ name: string }>).map((s) => s.name)).toContain('via-rest');

    expect((await api(router, 'POST', '/api/v1/sandboxes/via-rest/stop')).status).toBe(200);
    await eventually(
      async () => (await api(router, 'GET', '/api/v1/sandboxes/via-rest')).body?.status === 'Stopped',
      'Stopped',
    );
    expect((await api(router, 'POST', '/api/v1/sandboxes/via-rest/resume')).status).toBe(200);
    await eventually(
      () => controller.runtime.core.readNamespacedPod({ namespace: 'default', name: 'via-rest-pod' }),
      'pod again',
    );
    expect((await api(router, 'DELETE', '/api/v1/sandboxes/via-rest')).status).toBe(204);
    await eventually(
      async () => (await api(router, 'GET', '/api/v1/sandboxes/via-rest')).status === 404,
      'gone',
    );
  });

  it('fails closed without authentication', async () => {
    const closed = await startTestRouter(fake, {
      dataDir: join(dataDir, 'closed'),
    });
    try {
      const res = await api(closed, 'GET', '/api/v1/sandboxes');
      expect(res.status).toBe(401);
      expect((await fetch(`${closed.url}/healthz`)).status).toBe(200);
    } finally {
      await closed.close();
    }
  });

  it('serves the web UI at / from the same process, with the page headers, and never for /api', async () => {
    const root = join(dataDir, 'web');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>AgentTier</title>');
    writeFileSync(join(root, 'assets', 'app-1a2b3c4d.js'), 'console.log(1)');
    const withUi = await startTestRouter(fake, {
      devAuth: true,
      dataDir: join(dataDir, 'with-ui'),
      webUiRoot: root,
    });
    try {
      for (const path of ['/', '/sandboxes/default/box/terminal']) {
        const page = await fetch(`${withUi.url}${path}`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('<title>AgentTier</title>');
        expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      }
      expect((await fetch(`${withUi.url}/assets/app-1a2b3c4d.js`)).headers.get('cache-control')).toContain(
        'immutable',
      );
      expect((await api(withUi, 'GET', '/api/v1/nope')).status).toBe(404);
      // Without a UI the router answers JSON 404 at /, as before.
      expect((await fetch(`${router.url}/`)).status).toBe(404);
    } finally {
      await withUi.close();
    }
  });

  it('lets the bootstrap admin key in, and only it', async () => {
    const adminKey = generateApiKey();
    const keyed = await startTestRouter(fake, {
      dataDir: join(dataDir, 'keyed'),
      adminKey,
    });
    try {
      const me = await fetch(`${keyed.url}/api/v1/user/me`, { headers: { 'x-api-key': adminKey } });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ id: 'admin', isAdmin: true });
      expect((await fetch(`${keyed.url}/api/v1/user/me`)).status).toBe(401);
      const other = await fetch(`${keyed.url}/api/v1/user/me`, {
        headers: { 'x-api-key': generateApiKey() },
      });
      expect(other.status).toBe(401);
    } finally {
      await keyed.close();
    }
  });

  it('serves MCP at /mcp behind its own authentication; each tool call acts as its caller', async () => {
    const adminKey = generateApiKey();
    const keyed = await startTestRouter(fake, { dataDir: join(dataDir, 'mcp'), adminKey });
    const clients: Client[] = [];
    const connect = async (headers: Record<string, string>) => {
      const c = new Client({ name: 'k8s-router-mcp-test', version: '0' });
      await c.connect(
        new StreamableHTTPClientTransport(new URL(`${keyed.url}/mcp`), { requestInit: { headers } }),
      );
      clients.push(c);
      return c;
    };
    const call = async (c: Client, name: string, args: Record<string, unknown>) =>
      ((await c.callTool({ name, arguments: args })) as CallToolResult).content
        .map((x) => (x.type === 'text' ? x.text : ''))
        .join('');
    const rest = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${keyed.url}${path}`, {
        method,
        headers: { 'x-api-key': adminKey, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    };
    try {
      const admin = await connect({ authorization: `Bearer ${adminKey}` });
      expect(await call(admin, 'template_list', {})).toContain('"name": "minimal-shell"');
      expect(
        await call(admin, 'sandbox_create', { name: 'via-mcp', template: 'minimal-shell', wait: false }),
      ).toContain('via-mcp');
      // The custom resource the tool created names the caller as its creator.
      const cr = (await fake.kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: 'agenttier.io',
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'sandboxes',
        name: 'via-mcp',
      })) as Sandbox;
      expect(cr.spec.createdBy?.sub).toBe('admin');

      const vera = await rest('POST', '/api/v1/user/api-keys', { name: 'vera', user: { id: 'vera' } });
      expect(vera.status).toBe(201);
      expect((await rest('PUT', '/api/v1/sandboxes/via-mcp/shares/vera', { role: 'viewer' })).status).toBe(
        200,
      );
      const viewer = await connect({ 'x-api-key': String(vera.json.key) });
      expect(await call(viewer, 'sandbox_get', { name: 'via-mcp' })).toContain('"name": "via-mcp"');
      expect(await call(viewer, 'sandbox_exec', { name: 'via-mcp', command: 'id' })).toMatch(
        /^FORBIDDEN \(HTTP 403\)/,
      );
      expect(await call(viewer, 'sandbox_delete', { name: 'via-mcp' })).toMatch(/^FORBIDDEN/);
      const mallory = await rest('POST', '/api/v1/user/api-keys', { name: 'm', user: { id: 'mallory' } });
      const stranger = await connect({ 'x-api-key': String(mallory.json.key) });
      expect(await call(stranger, 'sandbox_delete', { name: 'via-mcp' })).toMatch(/^SANDBOX_NOT_FOUND/);
      expect((await rest('GET', '/api/v1/sandboxes/via-mcp')).status).toBe(200);

      // The router's guards: no key, another site's page, a rebound DNS name.
      const init = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '0' },
        },
      });
      const post = (headers: Record<string, string>) =>
        keyed.app.inject({
          method: 'POST',
          url: '/mcp',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...headers,
          },
          payload: init,
        });
      const none = await post({ host: '127.0.0.1' });
      expect([none.statusCode, none.json().code]).toEqual([401, 'UNAUTHENTICATED']);
      expect(
        (await post({ host: '127.0.0.1', 'x-api-key': adminKey, origin: 'https://evil.example' })).statusCode,
      ).toBe(403);
      expect((await post({ host: 'evil.example', 'x-api-key': adminKey })).statusCode).toBe(421);
      expect((await post({ host: '127.0.0.1', 'x-api-key': adminKey })).statusCode).toBe(200);
      expect((await rest('DELETE', '/api/v1/sandboxes/via-mcp')).status).toBe(204);
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await keyed.close();
    }
  });

  it('names the Pod and claim the controller creates from the first response on', async () => {
    await fake.faults.pauseControllers();
    const created = await api(router, 'POST', '/api/v1/sandboxes', {
      name: 'named',
      template: 'minimal-shell',
    });
    expect(created.status).toBe(201);
    // Before any reconcile: what the controller will create, not the local platform's names.
    expect(created.body).toMatchObject({ podName: 'named-pod', pvcName: 'named-workspace' });
    const got = await api(router, 'GET', '/api/v1/sandboxes/named');
    expect(got.body).toMatchObject({ podName: 'named-pod', pvcName: 'named-workspace' });
    fake.faults.resumeControllers();
    await api(router, 'DELETE', '/api/v1/sandboxes/named');
  });

  it('refuses unknown fields and custom-resource-only fields with 400 naming each, as the API server does', async () => {
    const res = await api(router, 'POST', '/api/v1/sandboxes', {
      name: 'strict',
      template: 'minimal-shell',
      desiredState: 'Paused',
      idleTimout: '5m',
      templateRef: { name: 'minimal-shell', knd: 'x' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    const fields = (res.body?.details as Array<{ field: string; message: string }>).map((d) => d.field);
    expect(fields.sort()).toEqual(['desiredState', 'idleTimout', 'templateRef.knd']);
    expect(String(res.body?.message)).toContain('desiredState is not a known field');
    expect((await api(router, 'GET', '/api/v1/sandboxes/strict')).status).toBe(404);
    // PATCH of an existing sandbox (a missing one is 404 before its body is read).
    expect(
      (await api(router, 'POST', '/api/v1/sandboxes', { name: 'strict', template: 'minimal-shell' })).status,
    ).toBe(201);
    const patch = await api(router, 'PATCH', '/api/v1/sandboxes/strict', { desiredState: 'Paused' });
    expect(patch.status).toBe(400);
    expect((patch.body?.details as Array<{ field: string }>).map((d) => d.field)).toEqual(['desiredState']);
    await api(router, 'DELETE', '/api/v1/sandboxes/strict');
  });

  // The same bad input through `kubectl apply` (the CRD schema) and through the REST API.
  const BAD: Array<{
    field: string;
    rest: Record<string, unknown>;
    spec: Record<string, unknown>;
    value: unknown;
  }> = [
    { field: 'timeout', rest: { timeout: 'soon' }, spec: { timeout: 'soon' }, value: 'soon' },
    {
      field: 'idleTimeout',
      rest: { idleTimeout: '5 minutes' },
      spec: { idleTimeout: '5 minutes' },
      value: '5 minutes',
    },
    {
      field: 'resources.limits.cpu',
      rest: { resources: { limits: { cpu: 'lots' } } },
      spec: { resources: { limits: { cpu: 'lots' } } },
      value: 'lots',
    },
    {
      field: 'storage.size',
      rest: { storage: { size: '10 gigs' } },
      spec: { storage: { size: '10 gigs' } },
      value: '10 gigs',
    },
    {
      field: 'storage.mountPath',
      rest: { storage: { mountPath: 'work' } },
      spec: { storage: { mountPath: 'work' } },
      value: 'work',
    },
    {
      field: 'env[0].name',
      rest: { env: [{ name: '1BAD', value: 'x' }] },
      spec: { env: [{ name: '1BAD', value: 'x' }] },
      value: '1BAD',
    },
    { field: 'mode', rest: { mode: 'turbo' }, spec: { mode: 'turbo' }, value: 'turbo' },
    { field: 'resources.pids', rest: { resources: { pids: 5 } }, spec: { resources: { pids: 5 } }, value: 5 },
  ];

  it.each(BAD)(
    'rejects a bad $field at the CRD schema and at the router, with the same message where the contract has one',
    async (c) => {
      const rest = await api(router, 'POST', '/api/v1/sandboxes', {
        name: 'bad-input',
        template: 'minimal-shell',
        ...c.rest,
      });
      expect(rest.status).toBe(400);
      const restIssue = (rest.body?.details as Array<{ field: string; message: string }>).find(
        (d) => d.field.replace(/\.(\d+)\./g, '[$1].') === c.field,
      );
      expect(restIssue, JSON.stringify(rest.body)).toBeTruthy();

      let kubeCause: { field?: string; message?: string } | undefined;
      try {
        await createSandboxObject(fake.kubeConfig, 'bad-input', {
          templateRef: { name: 'minimal-shell' },
          ...c.spec,
        });
        throw new Error('the API server accepted it');
      } catch (err) {
        expect((err as { code?: number }).code).toBe(422);
        kubeCause = kubeStatusOf(err)?.details?.causes?.find((x) => x.field === `spec.${c.field}`);
      }
      expect(kubeCause, `a 422 cause at spec.${c.field}`).toBeTruthy();

      // A real API server also evaluates the CRD's CEL rules, whose messages are the contract's own.
      const rules = (crdNode(c.field)['x-kubernetes-validations'] as CelRule[] | undefined) ?? [];
      const failing = rules.filter((r) => evaluate(r.rule, { self: c.value }) !== true).map((r) => r.message);
      // storage.mountPath's contract message names what is wrong with the value (limits.ts); a CRD
      // rule carries one fixed message.
      if (c.field === 'storage.mountPath')
        expect(failing).toEqual(['must be an absolute path such as "/workspace"']);
      else if (failing.length) expect(failing).toContain(restIssue!.message);
      else expect(['mode', 'resources.pids']).toContain(c.field); // zod's built-in messages; Kubernetes words enum/minimum its own way
    },
  );

  it('rejects a bad name at both, with the contract message in the CRD rule for metadata.name', async () => {
    const rest = await api(router, 'POST', '/api/v1/sandboxes', {
      name: 'Bad_Name',
      template: 'minimal-shell',
    });
    expect(rest.status).toBe(400);
    const message = (rest.body?.details as Array<{ field: string; message: string }>).find(
      (d) => d.field === 'name',
    )!.message;
    const root = (
      buildCrd('Sandbox') as { spec: { versions: Array<{ schema: { openAPIV3Schema: JsonSchema } }> } }
    ).spec.versions[0]!.schema.openAPIV3Schema;
    const failing = (root['x-kubernetes-validations'] as CelRule[])
      .filter((r) => evaluate(r.rule, { self: { metadata: { name: 'Bad_Name' } } }) !== true)
      .map((r) => r.message);
    expect(failing).toContain(message);
    await expect(
      createSandboxObject(fake.kubeConfig, 'Bad_Name', { templateRef: { name: 'x' } }),
    ).rejects.toMatchObject({ code: 422 });
  });
});

/** Creates a Sandbox object in `default` straight through the API server (its CRD schema checks it, not the router). */
function createSandboxObject(kubeConfig: KubeConfig, name: string, spec: Record<string, unknown>) {
  return kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'agenttier.io',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'sandboxes',
    body: { apiVersion: 'agenttier.io/v1alpha1', kind: 'Sandbox', metadata: { name }, spec },
  });
}
