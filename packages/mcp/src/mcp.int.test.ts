/**
 * `agenttier mcp` driven by the MCP SDK's own client over stdio (the real CLI process) against a real
 * local platform with API keys on: a session that creates a sandbox, runs code, reads and writes files,
 * invokes an agent with progress notifications; and hostile or malformed tool input, which must come
 * back as tool errors a model can read (never a crash, never a hang).
 *
 *   AGENTTIER_DOCKER_HOST=unix:///run/agenttier/docker.sock npx vitest run --project integration packages/mcp/src/mcp.int.test.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request as httpRequest } from 'node:http';
import { startMcpHttp, type McpHttpServer } from './http.ts';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  type TestPlatform,
} from '@agenttier/local/testing';

const ns = testNamespace('it-mcp');
const root = fileURLToPath(new URL('../../../', import.meta.url));
const agentPy = readFileSync(`${root}examples/echo-agent/agent.py`, 'utf8');
let platform: TestPlatform;
let adminKey: string;
let client: Client;

/** A client session with `agenttier mcp` spawned as an MCP client would, with `env` for credentials. */
async function connect(env: Record<string, string>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [`${root}packages/cli/bin/agenttier.js`, 'mcp'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      AGENTTIER_CONFIG: '/nonexistent/agenttier-config.json', // only the environment's credentials
      AGENTTIER_API_URL: platform.url,
      ...env,
    },
    stderr: 'ignore',
  });
  const c = new Client({ name: 'agenttier-mcp-test', version: '0.0.0' });
  await c.connect(transport);
  return c;
}

async function call(
  name: string,
  args: Record<string, unknown>,
  c: Client = client,
): Promise<CallToolResult> {
  return (await c.callTool({ name, arguments: args })) as CallToolResult;
}

function text(res: CallToolResult): string {
  return res.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

beforeAll(async () => {
  platform = await startTestPlatform({ devAuth: false });
  const ensure = platform.ensureAdminKey;
  if (!ensure) throw new Error('the local platform has no admin key bootstrap');
  adminKey = (await ensure.call(platform)).key;
  client = await connect({ AGENTTIER_API_KEY: adminKey });
});

afterAll(async () => {
  await client?.close();
  await stopTestPlatform(platform, { namespace: ns });
});

describe('agenttier mcp over stdio', () => {
  it('lists its tools, each with a JSON schema for its input', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    for (const expected of [
      'agent_configure',
      'agent_invoke',
      'file_list',
      'file_read',
      'file_write',
      'port_forward',
      'process_logs',
      'process_start',
      'sandbox_create',
      'sandbox_delete',
      'sandbox_exec',
      'sandbox_get',
      'sandbox_list',
      'sandbox_resume',
      'sandbox_stop',
      'template_list',
    ]) {
      expect(names).toContain(expected);
    }
    expect(text(await call('template_list', {}))).toContain('"name": "minimal-shell"');
    const exec = tools.find((t) => t.name === 'sandbox_exec');
    expect(exec?.inputSchema.required).toEqual(expect.arrayContaining(['name', 'command']));
  });

  it('creates a sandbox, runs code, writes, lists and reads files', async () => {
    const created = await call('sandbox_create', {
      name: 'mcp-box',
      namespace: ns,
      template: 'minimal-shell',
    });
    expect(created.isError, text(created)).toBeFalsy();
    expect(text(created)).toContain('is Running');

    const ran = await call('sandbox_exec', {
      name: 'mcp-box',
      namespace: ns,
      command: 'echo $((6*7)); echo oops >&2; exit 3',
    });
    expect(text(ran)).toContain('exit code 3');
    expect(text(ran)).toMatch(/--- stdout ---\n42\n/);
    expect(text(ran)).toMatch(/--- stderr ---\noops/);

    const wrote = await call('file_write', {
      name: 'mcp-box',
      namespace: ns,
      path: '/workspace/src/hello.py',
      content: 'print("hi")\n',
    });
    expect(text(wrote)).toContain('Wrote 12 bytes');
    const listed = await call('file_list', { name: 'mcp-box', namespace: ns, path: '/workspace/src' });
    expect(text(listed)).toContain('"hello.py"');
    const read = await call('file_read', { name: 'mcp-box', namespace: ns, path: '/workspace/src/hello.py' });
    expect(text(read)).toContain('print("hi")');

    // Bytes that are not UTF-8 come back as base64, exactly.
    await call('file_write', {
      name: 'mcp-box',
      namespace: ns,
      path: '/workspace/bin.dat',
      content: Buffer.from([0xff, 0, 0xfe]).toString('base64'),
      encoding: 'base64',
    });
    expect(
      text(await call('file_read', { name: 'mcp-box', namespace: ns, path: '/workspace/bin.dat' })),
    ).toContain('base64):\n/wD+');

    const got = await call('sandbox_get', { name: 'mcp-box', namespace: ns });
    expect(text(got)).toContain('"status": "Running"');
    expect(text(await call('sandbox_list', { namespace: ns }))).toContain('"name": "mcp-box"');

    const started = await call('process_start', {
      name: 'mcp-box',
      namespace: ns,
      command: ['sh', '-c', 'echo ready; sleep 300'],
    });
    const id = /Started process (\S+) /.exec(text(started))?.[1];
    expect(id, text(started)).toBeTruthy();
    const logs = await call('process_logs', { name: 'mcp-box', namespace: ns, id, waitMs: 2000 });
    expect(text(logs)).toContain('ready');
  });

  it('refuses hostile and malformed input with tool errors a model can act on', async () => {
    const outside = await call('file_read', { name: 'mcp-box', namespace: ns, path: '/etc/passwd' });
    expect(outside.isError).toBe(true);
    expect(text(outside)).toMatch(/^FORBIDDEN \(HTTP 403\): .*outside/);

    const dotdot = await call('file_write', {
      name: 'mcp-box',
      namespace: ns,
      path: '/workspace/../etc/x',
      content: 'x',
    });
    expect(dotdot.isError).toBe(true);
    expect(text(dotdot)).toContain('".." segments');

    const relative = await call('file_read', { name: 'mcp-box', namespace: ns, path: 'notes.txt' });
    expect(relative.isError).toBe(true);
    expect(text(relative)).toContain('must be absolute');

    const badName = await call('sandbox_get', { name: 'Bad_Name', namespace: ns });
    expect(badName.isError).toBe(true);
    expect(text(badName)).toContain('lowercase letters');

    const notACommand = await call('sandbox_exec', { name: 'mcp-box', namespace: ns, command: 42 });
    expect(notACommand.isError).toBe(true);

    const missing = await call('sandbox_exec', { name: 'nope', namespace: ns, command: 'true' });
    expect(text(missing)).toMatch(/^SANDBOX_NOT_FOUND \(HTTP 404\)/);

    const badBase64 = await call('file_write', {
      name: 'mcp-box',
      namespace: ns,
      path: '/workspace/b',
      content: '%%%',
      encoding: 'base64',
    });
    expect(text(badBase64)).toContain('not valid base64');

    // 3 MiB of output: the tool answers with the first 64 KiB and says how much it cut.
    const flood = await call('sandbox_exec', {
      name: 'mcp-box',
      namespace: ns,
      command: 'head -c 3145728 /dev/zero | tr "\\0" a',
    });
    expect(flood.isError).toBeFalsy();
    expect(text(flood)).toContain('[stdout: 3080192 more bytes not shown');
    expect(text(flood).length).toBeLessThan(70_000);

    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).resolves.toMatchObject({
      isError: true,
    });
    // The session survives all of it.
    expect(text(await call('sandbox_get', { name: 'mcp-box', namespace: ns }))).toContain('Running');
  });

  it('invokes an agent, streaming its lines as progress notifications', async () => {
    await call('sandbox_create', { name: 'mcp-agent', namespace: ns, template: 'langgraph-agent' });
    const configured = await call('agent_configure', {
      name: 'mcp-agent',
      namespace: ns,
      files: [{ path: '/workspace/agent.py', content: agentPy }],
      entrypoint: ['python3', '/workspace/agent.py'],
    });
    expect(configured.isError, text(configured)).toBeFalsy();
    const progress: Progress[] = [];
    const res = (await client.callTool(
      { name: 'agent_invoke', arguments: { name: 'mcp-agent', namespace: ns, input: 'sleep 3' } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(text(res)).toContain('exit code 0 (completed)');
    // A heartbeat a second, numbered by the time gone (a loaded machine may skip a number): the lines
    // expected as progress are the ones the agent printed.
    const printed = /working\.\.\. 0s\n(?:working\.\.\. \d+s\n)+done/.exec(text(res))?.[0];
    expect(printed, text(res)).toBeDefined();
    // Lines come as progress while the run goes. (The SDK's client drops a notification that arrives
    // in the same read as the response, so the last line may be missing; the earlier ones, seconds
    // before the answer, are not.)
    const lines = printed!.split('\n').map((l) => `[stdout] ${l}`);
    const got = progress.map((p) => p.message);
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(got).toEqual(lines.slice(0, got.length));
    expect(progress.map((p) => p.progress)).toEqual(got.map((_, i) => i + 1));

    const wrongMode = await call('agent_invoke', { name: 'mcp-box', namespace: ns, input: 'x' });
    expect(text(wrongMode)).toMatch(/^WRONG_MODE \(HTTP 400\)/);
  });

  it('acts only with valid credentials', async () => {
    const stranger = await connect({ AGENTTIER_API_KEY: 'atk_not-a-real-key' });
    try {
      const res = await call('sandbox_list', { namespace: ns }, stranger);
      expect(res.isError).toBe(true);
      expect(text(res)).toMatch(/^UNAUTHENTICATED \(HTTP 401\)/);
    } finally {
      await stranger.close();
    }
  });

  it('stops and deletes', async () => {
    expect(text(await call('sandbox_stop', { name: 'mcp-box', namespace: ns }))).toContain('Stopped');
    expect(text(await call('sandbox_delete', { name: 'mcp-box', namespace: ns }))).toContain('being deleted');
  });
});

describe('agenttier mcp over streamable HTTP', () => {
  let http: McpHttpServer;
  beforeAll(async () => {
    http = await startMcpHttp({ apiUrl: platform.url, port: 0, maxBodyBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await http?.close();
  });

  async function httpClient(headers: Record<string, string>): Promise<Client> {
    const c = new Client({ name: 'agenttier-mcp-http-test', version: '0.0.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers } }));
    return c;
  }

  /** A raw request, for what MCP clients never send (a foreign Host, an Origin, no key, a huge body). */
  function raw(opts: { method?: string; headers?: Record<string, string>; body?: string }): Promise<number> {
    const url = new URL(http.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: opts.method ?? 'POST',
          headers: opts.headers,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  it('runs a session with the caller’s own key', async () => {
    const c = await httpClient({ 'x-api-key': adminKey });
    try {
      const created = (await c.callTool({
        name: 'sandbox_create',
        arguments: { name: 'mcp-http', namespace: ns, template: 'minimal-shell' },
      })) as CallToolResult;
      expect(text(created)).toContain('is Running');
      const ran = (await c.callTool({
        name: 'sandbox_exec',
        arguments: { name: 'mcp-http', namespace: ns, command: ['uname', '-s'] },
      })) as CallToolResult;
      expect(text(ran)).toContain('--- stdout ---\nLinux');
      await c.callTool({ name: 'sandbox_delete', arguments: { name: 'mcp-http', namespace: ns } });
    } finally {
      await c.close();
    }
  });

  it('has no authority of its own: a wrong key acts as nobody', async () => {
    const c = await httpClient({ authorization: 'Bearer atk_not-a-real-key' });
    try {
      const res = (await c.callTool({
        name: 'sandbox_list',
        arguments: { namespace: ns },
      })) as CallToolResult;
      expect(text(res)).toMatch(/^UNAUTHENTICATED \(HTTP 401\)/);
    } finally {
      await c.close();
    }
  });

  it('refuses requests without a key, from web pages, for other hosts, and oversized bodies', async () => {
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'x', version: '0' } },
    });
    const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const host = new URL(http.url).host;
    expect(await raw({ headers: { ...mcpHeaders, host }, body: init })).toBe(401);
    const keyed = { ...mcpHeaders, host, 'x-api-key': adminKey };
    expect(await raw({ headers: keyed, body: init })).toBe(200);
    // DNS rebinding: a page at evil.example whose name now points at 127.0.0.1.
    expect(
      await raw({ headers: { ...keyed, host: `evil.example:${new URL(http.url).port}` }, body: init }),
    ).toBe(421);
    expect(await raw({ headers: { ...keyed, origin: 'http://evil.example' }, body: init })).toBe(403);
    expect(await raw({ method: 'GET', headers: keyed })).toBe(405);
    expect(await raw({ headers: keyed, body: '{"jsonrpc": ' })).toBe(400);
    expect(await raw({ headers: keyed, body: 'x'.repeat(1024 * 1024 + 1) })).toBe(413);
  });
});
