/**
 * `Sandboxd.listen()` on a unix socket where chmod is refused, as under gVisor with
 * `runsc --host-uds=create` (the socket lives on the host, created by gVisor's gofer).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as FsPromises from 'node:fs/promises';

import { createSandboxdClient } from './client.ts';
import { createSandboxd } from './server/app.ts';
import type { Sandboxd } from './server/app.ts';
import { createLogger } from './server/log.ts';

const refused = vi.hoisted(() => ({ paths: new Set<string>(), code: 'EPERM' }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const orig = await importOriginal<typeof FsPromises>();
  return {
    ...orig,
    chmod: async (path: string, mode: number) => {
      if (refused.paths.has(path))
        throw Object.assign(new Error(`${refused.code}: operation not permitted, chmod '${path}'`), {
          code: refused.code,
        });
      return orig.chmod(path, mode);
    },
  };
});

let dir: string;
const logs: string[] = [];
const daemons: Sandboxd[] = [];

function daemon(): Sandboxd {
  const d = createSandboxd({
    token: 't'.repeat(24),
    roots: [dir],
    defaultCwd: dir,
    baseEnv: {},
    maxProcesses: 8,
    maxOutputBytes: 1 << 20,
    processBufferBytes: 1 << 16,
    finishedTtlMs: 60_000,
    maxFinished: 8,
    defaultExecTimeoutMs: 10_000,
    terminalBufferBytes: 1 << 16,
    maxTerminals: 2,
    heartbeatMs: 30_000,
    pongTimeoutMs: 70_000,
    shutdownGraceMs: 100,
    version: 'test',
    log: createLogger('warn', (line) => void logs.push(line)),
  });
  daemons.push(d);
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandboxd-listen-'));
});

afterAll(async () => {
  for (const d of daemons) await d.close();
  await rm(dir, { recursive: true, force: true });
});

describe('listen on a unix socket', () => {
  it('serves when chmod of the socket is refused with EPERM (gVisor), keeping mode 0660', async () => {
    const socketPath = join(dir, 'eperm.sock');
    refused.paths.add(socketPath);
    await daemon().listen({ socketPath });
    expect((await stat(socketPath)).mode & 0o777).toBe(0o660);
    expect(logs.join('')).toContain('cannot chmod the socket');
    const client = createSandboxdClient({ socketPath }, 't'.repeat(24));
    try {
      expect((await client.health()).status).toBe('ok');
      expect((await client.exec({ command: ['echo', 'hi'] })).stdout).toBe('hi\n');
    } finally {
      client.close();
    }
  });

  it('still fails on other chmod errors', async () => {
    const socketPath = join(dir, 'eio.sock');
    refused.paths.add(socketPath);
    refused.code = 'EIO';
    try {
      await expect(daemon().listen({ socketPath })).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      refused.code = 'EPERM';
    }
  });
});
