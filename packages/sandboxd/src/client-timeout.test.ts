/**
 * The client against a sandboxd that does not answer: a socket that accepts connections but says
 * nothing (what a dead sandboxd looks like under gVisor, whose gofer keeps the socket bound), and a
 * TCP listener whose accept queue is full (the connection never completes). Calls must fail with
 * `unreachable` (errno ETIMEDOUT) rather than hang; a slow call to a live daemon must not.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSandboxdClient } from './client.ts';
import type { SandboxdClient } from './client.ts';
import type { SandboxdError } from './errors.ts';
import { sandboxdErrorOf } from './testing/sandboxd-error-of.ts';
import { startLocalSandboxd } from './local.ts';
import type { LocalSandboxd } from './local.ts';

const TOKEN = 't'.repeat(24);
let dir: string;
let silent: Server;
const accepted: Socket[] = [];
const clients: SandboxdClient[] = [];

function client(target: Parameters<typeof createSandboxdClient>[0], connectTimeoutMs = 150) {
  const c = createSandboxdClient(target, TOKEN, { connectTimeoutMs });
  clients.push(c);
  return c;
}

const errorOf = sandboxdErrorOf;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandboxd-timeout-'));
  silent = createServer((s) => void accepted.push(s)); // accepts, never answers
  await new Promise<void>((r) => silent.listen(join(dir, 'silent.sock'), r));
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of accepted) s.destroy();
  await new Promise((r) => silent.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('a sandboxd that accepts connections but never answers', () => {
  const expectTimeout = (e: SandboxdError) => {
    expect(e).toMatchObject({ code: 'unreachable', status: 503, details: { errno: 'ETIMEDOUT' } });
    expect(e.message).toMatch(/^cannot reach sandboxd: .* within \d+ ms \(ETIMEDOUT\)$/);
  };

  it('fails unary calls and exec with unreachable/ETIMEDOUT', async () => {
    const c = client({ socketPath: join(dir, 'silent.sock') });
    expectTimeout(await errorOf(c.health()));
    expectTimeout(await errorOf(c.exec({ command: ['true'] })));
    expectTimeout(await errorOf(c.files.stat('/workspace')));
  });

  it('fails WebSocket calls (terminal, attach) and TCP tunnels the same way', async () => {
    const c = client({ socketPath: join(dir, 'silent.sock') });
    expectTimeout(await errorOf(c.terminal({ session: 'x' })));
    expectTimeout(await errorOf(c.attach('p1')));
    expectTimeout(await errorOf(c.tcpTunnel(8080)));
  });
});

describe('a TCP address whose accept queue is full (connect never completes)', () => {
  let py: ChildProcess | undefined;
  let port = 0;
  const fillers: Socket[] = [];

  beforeAll(async () => {
    // A listener with backlog 0 that never accepts: once its queue is full, the kernel drops SYNs.
    py = spawn('python3', [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(600)',
    ]);
    port = await new Promise<number>((resolve, reject) => {
      py!.once('error', reject);
      py!.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    });
    for (let i = 0; i < 3; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => {}));
    // Backlog 0 queues one connection: once a filler has connected the queue is full, and the
    // others (and the client under test) stay at SYN.
    await Promise.any(fillers.map((s) => once(s, 'connect')));
  });

  afterAll(() => {
    for (const s of fillers) s.destroy();
    py?.kill('SIGKILL');
  });

  it('fails with unreachable/ETIMEDOUT', async () => {
    const e = await errorOf(client({ host: '127.0.0.1', port }).health());
    expect(e).toMatchObject({ code: 'unreachable', details: { errno: 'ETIMEDOUT' } });
  });
});

describe('a live sandboxd', () => {
  let sd: LocalSandboxd;
  beforeAll(async () => {
    sd = await startLocalSandboxd();
  }, 300_000);
  afterAll(async () => {
    await sd?.stop();
  });

  it('keeps a call that runs longer than the connect timeout (the liveness probe answers)', async () => {
    // The probe itself must answer within the connect timeout: 100 ms failed a CI run at load 45, so
    // the timeout is generous and the call runs well past it.
    const c = createSandboxdClient({ socketPath: sd.socketPath }, sd.token, { connectTimeoutMs: 1_500 });
    clients.push(c);
    const r = await c.exec({ command: ['sh', '-c', 'sleep 5; echo done'] });
    expect(r).toMatchObject({ stdout: 'done\n', exitCode: 0 });
  });
});
