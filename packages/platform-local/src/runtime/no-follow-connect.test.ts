import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectNoFollow } from './no-follow-connect.ts';

/** A listening unix socket that counts the connections it gets and answers "hi". */
async function listen(path: string): Promise<{ server: Server; accepted: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.end('hi');
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { server, accepted: () => n };
}

function read(sock: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    sock.on('data', (d: Buffer) => (out += d.toString()));
    sock.once('end', () => resolve(out));
    sock.once('error', reject);
  });
}

let dir: string;
let runDir: string;
const servers: Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nofollow-'));
  runDir = join(dir, 'run');
  execFileSync('mkdir', [runDir]);
});

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('connectNoFollow', () => {
  it('connects to a socket in the directory', async () => {
    const { server } = await listen(join(runDir, 'sandboxd.sock'));
    servers.push(server);
    const sock = await connectNoFollow({ dir: runDir, name: 'sandboxd.sock', timeoutMs: 2000 });
    expect(await read(sock)).toBe('hi');
  });

  it('refuses a symlink to another socket and never connects to it', async () => {
    const elsewhere = await listen(join(dir, 'host.sock'));
    servers.push(elsewhere.server);
    symlinkSync(join(dir, 'host.sock'), join(runDir, 'sandboxd.sock'));
    await expect(
      connectNoFollow({ dir: runDir, name: 'sandboxd.sock', timeoutMs: 2000 }),
    ).rejects.toMatchObject({ code: 'ENOTSOCK' });
    expect(elsewhere.accepted()).toBe(0);
  });

  it('refuses a FIFO, a regular file and a directory without opening them', async () => {
    execFileSync('mkfifo', [join(runDir, 'fifo')]);
    writeFileSync(join(runDir, 'file'), 'x');
    execFileSync('mkdir', [join(runDir, 'sub')]);
    for (const name of ['fifo', 'file', 'sub']) {
      await expect(connectNoFollow({ dir: runDir, name, timeoutMs: 2000 })).rejects.toMatchObject({
        code: 'ENOTSOCK',
      });
    }
  });

  it('refuses a run directory that is itself a symlink', async () => {
    const elsewhere = await listen(join(dir, 'sandboxd.sock'));
    servers.push(elsewhere.server);
    symlinkSync(dir, join(dir, 'link'));
    await expect(
      connectNoFollow({ dir: join(dir, 'link'), name: 'sandboxd.sock', timeoutMs: 2000 }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^(ELOOP|ENOTDIR)$/) as unknown });
    expect(elsewhere.accepted()).toBe(0);
  });

  it('refuses names that are not one path component', async () => {
    const elsewhere = await listen(join(dir, 'host.sock'));
    servers.push(elsewhere.server);
    for (const name of ['../host.sock', '..', '.', '', 'a/b']) {
      await expect(connectNoFollow({ dir: runDir, name, timeoutMs: 2000 })).rejects.toMatchObject({
        code: 'EINVAL',
      });
    }
    expect(elsewhere.accepted()).toBe(0);
  });

  it('reports a missing socket as ENOENT and a dead one as ECONNREFUSED', async () => {
    await expect(connectNoFollow({ dir: runDir, name: 'none.sock', timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
    // A daemon killed outright leaves its socket file behind with nobody listening.
    const dead = join(runDir, 'dead.sock');
    const script = `require('net').createServer().listen(${JSON.stringify(dead)}, () => process.kill(process.pid, 'SIGKILL'))`;
    expect(() => execFileSync(process.execPath, ['-e', script])).toThrow();
    await expect(connectNoFollow({ dir: runDir, name: 'dead.sock', timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
