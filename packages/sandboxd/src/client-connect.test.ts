import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSandboxdClient } from './client.ts';
import type { SandboxdClient } from './client.ts';
import { SandboxdError } from './errors.ts';
import { startLocalSandboxd } from './local.ts';
import type { LocalSandboxd } from './local.ts';

let sd: LocalSandboxd;
let client: SandboxdClient;
let connects = 0;

/** A `connect` target: the client must use it for every connection it makes, pooled or not. */
function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    s.once('connect', () => {
      connects++;
      resolve(s);
    });
    s.once('error', reject);
  });
}

beforeAll(async () => {
  sd = await startLocalSandboxd();
  client = createSandboxdClient({ connect: () => openSocket(sd.socketPath) }, sd.token);
}, 300_000);

afterAll(async () => {
  client?.close();
  await sd?.stop();
});

describe('a sandboxd client on a connect target', () => {
  it('makes requests, WebSockets and tunnels through the function it was given', async () => {
    expect((await client.exec({ command: 'echo via-connect' })).stdout).toBe('via-connect\n');
    const afterExec = connects;
    expect(afterExec).toBeGreaterThan(0);

    const t = await client.terminal({ cols: 80, rows: 24 });
    let text = '';
    t.on('frame', (f) => {
      if (f.type === 'output') text += f.data;
    });
    t.input('echo term-$((6*7))\r');
    for (let i = 0; i < 400 && !text.includes('term-42'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(text).toContain('term-42');
    t.close();
    await t.closed;
    expect(connects).toBeGreaterThan(afterExec);

    const echo = createServer((s) => s.end('tunnelled'));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    try {
      const beforeTunnel = connects;
      const sock = await client.tcpTunnel((echo.address() as AddressInfo).port);
      let got = '';
      for await (const d of sock as AsyncIterable<Buffer>) got += d.toString();
      expect(got).toBe('tunnelled');
      expect(connects).toBeGreaterThan(beforeTunnel);
    } finally {
      echo.close();
    }
  });

  it('reports a failing connect function as unreachable', async () => {
    const broken = createSandboxdClient(
      { connect: () => Promise.reject(Object.assign(new Error('no'), { code: 'ENOTSOCK' })) },
      sd.token,
    );
    try {
      const err = await broken.health().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SandboxdError);
      expect(err).toMatchObject({ code: 'unreachable', details: { errno: 'ENOTSOCK' } });
      const wsErr = await broken.terminal().catch((e: unknown) => e);
      expect(wsErr).toMatchObject({ code: 'unreachable' });
      const tunnelErr = await broken.tcpTunnel(1).catch((e: unknown) => e);
      expect(tunnelErr).toMatchObject({ code: 'unreachable' });
    } finally {
      broken.close();
    }
  });
});
