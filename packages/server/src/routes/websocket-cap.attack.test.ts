/**
 * Issue 8 item 6, WebSocket flood (red team). A WebSocket is never evicted as an idle connection and
 * holds a sandboxd connection too: one client with a key opened 1,843 TCP tunnels against
 * `agenttier up` (3,873 router descriptors), taking 90 % of the router's 2,048 connections from
 * everyone else. Each client now holds at most `maxWebSocketsPerClient` WebSockets (terminals,
 * tunnels and preview WebSockets together); another client is unaffected. Real sockets, a real
 * sandboxd on the host, API keys in SQLite.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '@agenttier/testkit';
import type { SqliteStore } from '@agenttier/platform-local';
import { startLocalSandboxd } from '@agenttier/sandboxd';
import type { LocalSandboxd } from '@agenttier/sandboxd';
import type { FastifyInstance } from 'fastify';
import { SqliteApiKeyStore } from '../auth/sqlite-api-keys.ts';
import { seededStore } from '../testing/seeded-store.ts';
import { createBareApp } from '../testing/bare-app.ts';
import { createHostShellTemplate, createRunningSandbox } from '../testing/host-shell-sandbox.ts';
import { insertApiKey } from '../testing/api-key.ts';
import { listenOnLoopback } from '../testing/loopback-server.ts';

const CAP = 3;
let sd: LocalSandboxd;
/** A TCP server "inside the sandbox" that holds every connection. */
let sink: Server;
let sinkPort: number;
const held: Socket[] = [];
let store: SqliteStore;
let keys: SqliteApiKeyStore;
let app: FastifyInstance;
let base: string;
const key: Record<string, string> = {};
const sockets: WebSocket[] = [];

beforeAll(async () => {
  sd = await startLocalSandboxd();
  sink = createServer((s) => held.push(s));
  sinkPort = await listenOnLoopback(sink);
}, 300_000);

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => sink?.close(r));
  await sd?.stop();
});

beforeEach(async () => {
  store = await seededStore();
  keys = new SqliteApiKeyStore(':memory:');
  for (const id of ['alice', 'bob']) {
    key[id] = (await insertApiKey(keys, id, { isAdmin: true })).key;
  }
  app = createBareApp(store, {
    sandboxdFor: () => sd.client,
    apiKeys: keys,
    http: { maxWebSocketsPerClient: CAP },
  });
  base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
  const headers = { 'x-api-key': key.alice! };
  await createHostShellTemplate(app, sd.workspace, headers);
  await createRunningSandbox(app, store, { name: 'box', headers });
});

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await app.close();
  await store.close();
  keys.close();
});

/** Opens a WebSocket as `who` from `localAddress`; resolves `open`, or the refusal's HTTP status. */
function connect(who: string, path: string, localAddress = '127.0.0.1'): Promise<'open' | number> {
  const ws = new WebSocket(`${base}${path}`, { headers: { 'x-api-key': key[who]! }, localAddress });
  sockets.push(ws);
  return new Promise((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });
}

it('one client holds at most its cap of WebSockets, whatever its address; another client still gets in', async () => {
  const tunnel = `/ws/tcp/box/${sinkPort}`;
  // Three tunnels from three loopback addresses: the cap is per identity.
  for (const addr of ['127.0.0.1', '127.0.0.2', '127.0.0.3'])
    expect(await connect('alice', tunnel, addr)).toBe('open');
  await eventually(() => (held.length >= CAP ? true : undefined), 'the tunnels reached the sandbox');
  expect(await connect('alice', tunnel, '127.0.0.4')).toBe(429);
  expect(await connect('alice', '/ws/terminal/box?session=flood')).toBe(429);
  // Bob is another client.
  expect(await connect('bob', tunnel)).toBe('open');
  // A closed WebSocket gives its slot back.
  sockets[0]!.close();
  await eventually(
    async () => ((await connect('alice', tunnel)) === 'open' ? true : undefined),
    'a slot back',
  );
});
