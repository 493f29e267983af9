/**
 * The file-watch stream is input from inside a sandbox: a malformed or endless frame must end the
 * watch with an error, never throw inside the client's socket handler or grow without bound.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandboxdClient } from './client.ts';
import { SandboxdError } from './errors.ts';

let dir: string;
let server: Server;
let socketPath: string;
let body: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sbd-watch-'));
  socketPath = join(dir, 'sandboxd.sock');
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(body);
    // Left open, as a live feed would be.
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function drain(): Promise<{ events: unknown[]; error?: unknown }> {
  const client = createSandboxdClient({ socketPath }, 't'.repeat(24));
  const events: unknown[] = [];
  try {
    const watch = await client.files.watch('/workspace');
    for await (const ev of watch) events.push(ev);
    return { events };
  } catch (error) {
    return { events, error };
  } finally {
    client.close();
  }
}

describe('sandboxd client: file watch stream', () => {
  it('delivers well-formed changes', async () => {
    body =
      'event: change\ndata: {"type":"created","path":"/workspace/a"}\n\nevent: error\ndata: {"code":"internal","message":"bye"}\n\n';
    const { events, error } = await drain();
    expect(events).toEqual([{ type: 'created', path: '/workspace/a' }]);
    expect(error).toBeInstanceOf(SandboxdError);
  });

  it('ends with an error on a frame that is not JSON', async () => {
    body = 'event: change\ndata: {"type":\n\n';
    const { error } = await drain();
    expect(error).toBeInstanceOf(SandboxdError);
    expect((error as Error).message).toMatch(/bad watch stream/);
  });

  it('ends with an error on a frame that never ends', async () => {
    body = `event: change\ndata: ${'x'.repeat(100 * 1024)}`;
    const { error } = await drain();
    expect((error as Error).message).toMatch(/over 65536 characters/);
  });
});
