/**
 * The router's own `/mcp` (streamable HTTP, served by `agenttier up`'s router behind its guards and
 * API keys) driven by the MCP SDK's own client against a real local platform: a session that creates a
 * sandbox, runs code, writes and reads a file and follows a background process's output; then the
 * attacks: no key, a key revoked mid-session, a key scoped to another sandbox, a viewer, another site's
 * page and a rebound DNS name. packages/server/src/routes/mcp.attack.test.ts covers the same refusals
 * (and the session and body bounds) in-process.
 *
 *   AGENTTIER_DOCKER_HOST=unix:///run/agenttier/docker.sock npx vitest run --project integration packages/mcp/src/router-mcp.int.test.ts
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  type TestPlatform,
} from '@agenttier/local/testing';

const ns = testNamespace('it-rmcp');
const agentPy = readFileSync(
  fileURLToPath(new URL('../../../examples/echo-agent/agent.py', import.meta.url)),
  'utf8',
);
let platform: TestPlatform;
let adminKey: string;
const clients: Client[] = [];

/** A REST call with `key`, JSON in and out. */
async function rest(
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: { key: string; id: string } }> {
  const res = await fetch(`${platform.url}${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function mcp(headers: Record<string, string>): Promise<Client> {
  const c = new Client({ name: 'router-mcp-test', version: '0.0.0' });
  await c.connect(
    new StreamableHTTPClientTransport(new URL(`${platform.url}/mcp`), { requestInit: { headers } }),
  );
  clients.push(c);
  return c;
}

async function call(c: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await c.callTool({ name, arguments: { namespace: ns, ...args } })) as CallToolResult;
}

function text(res: CallToolResult): string {
  return res.content.map((x) => (x.type === 'text' ? x.text : '')).join('');
}

/** A raw POST /mcp with an `initialize`, for what MCP clients never send (a foreign Host, an Origin). */
function rawInit(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const url = new URL(`${platform.url}/mcp`);
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
  });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let out = '';
        res.on('data', (c: Buffer) => (out += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  platform = await startTestPlatform({ devAuth: false });
  const ensure = platform.ensureAdminKey;
  if (!ensure) throw new Error('the local platform has no admin key bootstrap');
  adminKey = (await ensure.call(platform)).key;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stopTestPlatform(platform, { namespace: ns });
});

describe('the router’s /mcp on a real platform', () => {
  let admin: Client;

  it('creates a sandbox, runs code, writes and reads a file, follows a process', async () => {
    admin = await mcp({ authorization: `Bearer ${adminKey}` });
    const { tools } = await admin.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['sandbox_create', 'sandbox_exec', 'file_read']),
    );

    const created = await call(admin, 'sandbox_create', { name: 'rmcp-box', template: 'minimal-shell' });
    expect(text(created), text(created)).toContain('is Running');
    const ran = await call(admin, 'sandbox_exec', {
      name: 'rmcp-box',
      command: 'echo $((6*7)) > /workspace/answer; cat /workspace/answer',
    });
    expect(text(ran)).toMatch(/^exit code 0\n--- stdout ---\n42\n/);
    const wrote = await call(admin, 'file_write', {
      name: 'rmcp-box',
      path: '/workspace/notes.txt',
      content: 'über\n',
    });
    expect(text(wrote), text(wrote)).toContain('Wrote 6 bytes');
    expect(
      text(await call(admin, 'file_read', { name: 'rmcp-box', path: '/workspace/notes.txt' })),
    ).toContain('über');

    // A stream through the in-process call: output while it runs, then the call ends when the
    // process is quiet (its request aborted) and the session goes on.
    const started = await call(admin, 'process_start', {
      name: 'rmcp-box',
      command: ['sh', '-c', 'echo ready; sleep 600'],
    });
    const id = /Started process (\S+) /.exec(text(started))?.[1];
    expect(id, text(started)).toBeTruthy();
    const logs = await call(admin, 'process_logs', { name: 'rmcp-box', id, waitMs: 1500 });
    expect(text(logs)).toContain('still running');
    expect(text(logs)).toContain('ready');
    expect(text(await call(admin, 'sandbox_get', { name: 'rmcp-box' }))).toContain('"status": "Running"');
  });

  it('streams an agent run as progress notifications through the router', async () => {
    const created = await call(admin, 'sandbox_create', { name: 'rmcp-agent', template: 'langgraph-agent' });
    expect(text(created), text(created)).toContain('is Running');
    const configured = await call(admin, 'agent_configure', {
      name: 'rmcp-agent',
      files: [{ path: '/workspace/agent.py', content: agentPy }],
      entrypoint: ['python3', '/workspace/agent.py'],
    });
    expect(configured.isError, text(configured)).toBeFalsy();
    const progress: Progress[] = [];
    const res = (await admin.callTool(
      { name: 'agent_invoke', arguments: { name: 'rmcp-agent', namespace: ns, input: 'sleep 3' } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(text(res)).toContain('exit code 0 (completed)');
    // Lines arrive while the run goes (the invoke's SSE stream is relayed as it comes, not buffered:
    // buffered, they would reach the client in the response's read, where the SDK drops them).
    const got = progress.map((p) => p.message);
    expect(got.length, JSON.stringify(got)).toBeGreaterThanOrEqual(2);
    expect(got[0]).toBe('[stdout] working... 0s');
    expect(text(await call(admin, 'sandbox_delete', { name: 'rmcp-agent' }))).toContain('being deleted');
  });

  it('refuses a request without a key, from another site, for a rebound DNS name', async () => {
    const host = new URL(platform.url).host;
    const none = await rawInit({ host });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ code: 'UNAUTHENTICATED', requestId: expect.any(String) });
    await expect(mcp({})).rejects.toMatchObject({ code: 401 });
    const keyed = { host, 'x-api-key': adminKey };
    expect((await rawInit({ ...keyed, origin: 'https://evil.example' })).status).toBe(403);
    expect((await rawInit({ ...keyed, host: `evil.example:${new URL(platform.url).port}` })).status).toBe(
      421,
    );
    expect((await rawInit(keyed)).status).toBe(200);
  });

  it('a key revoked mid-session stops working at the next request', async () => {
    const issued = await rest(adminKey, 'POST', '/api/v1/user/api-keys', { name: 'rmcp-short' });
    expect(issued.status).toBe(201);
    const c = await mcp({ 'x-api-key': issued.json.key });
    expect(text(await call(c, 'sandbox_exec', { name: 'rmcp-box', command: 'true' }))).toContain(
      'exit code 0',
    );
    expect((await rest(adminKey, 'DELETE', `/api/v1/user/api-keys/${issued.json.id}`)).status).toBe(204);
    const err = await call(c, 'sandbox_exec', {
      name: 'rmcp-box',
      command: 'touch /workspace/after-revoke',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamableHTTPError);
    expect((err as StreamableHTTPError).code).toBe(401);
    expect(
      text(await call(admin, 'sandbox_exec', { name: 'rmcp-box', command: 'ls /workspace' })),
    ).not.toContain('after-revoke');
  });

  it('a viewer reads but cannot run anything; a key scoped to another sandbox cannot touch this one', async () => {
    const vera = await rest(adminKey, 'POST', '/api/v1/user/api-keys', {
      name: 'vera',
      user: { id: 'vera' },
    });
    expect(vera.status, JSON.stringify(vera.json)).toBe(201);
    const shared = await rest(adminKey, 'PUT', `/api/v1/sandboxes/rmcp-box/shares/vera?namespace=${ns}`, {
      role: 'viewer',
    });
    expect(shared.status, JSON.stringify(shared.json)).toBe(200);
    const viewer = await mcp({ 'x-api-key': vera.json.key });
    expect(
      text(await call(viewer, 'file_read', { name: 'rmcp-box', path: '/workspace/notes.txt' })),
    ).toContain('über');
    const exec = await call(viewer, 'sandbox_exec', {
      name: 'rmcp-box',
      command: 'touch /workspace/by-viewer',
    });
    expect([exec.isError, text(exec)]).toEqual([true, expect.stringMatching(/^FORBIDDEN \(HTTP 403\)/)]);
    const write = await call(viewer, 'file_write', {
      name: 'rmcp-box',
      path: '/workspace/by-viewer',
      content: 'x',
    });
    expect(text(write)).toMatch(/^FORBIDDEN/);
    expect(text(await call(viewer, 'sandbox_delete', { name: 'rmcp-box' }))).toMatch(/^FORBIDDEN/);

    // A key scoped to another sandbox (created without waiting: the scope is what matters).
    expect(
      text(
        await call(admin, 'sandbox_create', { name: 'rmcp-other', template: 'minimal-shell', wait: false }),
      ),
    ).toContain('rmcp-other');
    const scoped = await rest(adminKey, 'POST', '/api/v1/user/api-keys', {
      name: 'rmcp-agent',
      sandbox: 'rmcp-other',
      namespace: ns,
      verbs: ['exec', 'files'],
    });
    expect(scoped.status, JSON.stringify(scoped.json)).toBe(201);
    const agent = await mcp({ 'x-api-key': scoped.json.key });
    const outside = await call(agent, 'sandbox_exec', {
      name: 'rmcp-box',
      command: 'touch /workspace/by-agent',
    });
    expect(text(outside)).toMatch(/^(FORBIDDEN|SANDBOX_NOT_FOUND) \(HTTP 40[34]\)/);
    const read = await call(agent, 'file_read', { name: 'rmcp-box', path: '/workspace/notes.txt' });
    expect(text(read)).toMatch(/^(FORBIDDEN|SANDBOX_NOT_FOUND)/);
    expect(text(await call(agent, 'sandbox_list', {}))).toMatch(/^FORBIDDEN/);

    const ls = await call(admin, 'sandbox_exec', { name: 'rmcp-box', command: 'ls /workspace' });
    expect(text(ls)).not.toMatch(/by-viewer|by-agent/);
    expect(text(await call(admin, 'sandbox_delete', { name: 'rmcp-other' }))).toContain('being deleted');
  });
});
