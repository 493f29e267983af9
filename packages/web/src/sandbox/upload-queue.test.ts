/**
 * The upload queue over real HTTP: each file is PUT to a real server in chunks, progress reported as
 * the chunks are written (the browser's XMLHttpRequest does the same through `upload.onprogress`).
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { errorFromResponse } from '@agenttier/sdk';
import { sendJson } from '@agenttier/sdk/testing';
import { eventually } from '@agenttier/testkit';
import { UploadQueue, type UploadSender } from './upload-queue.ts';
import { useSdkTestServer } from '../testing/sdk-test-server.ts';

const sdk = useSdkTestServer();

const CHUNK = 64 * 1024;

/** A PUT over a real socket, written chunk by chunk; progress after each chunk is flushed. */
const httpSender: UploadSender = (path, body, { onProgress, signal }) =>
  new Promise((resolve, reject) => {
    const url = new URL(`${sdk.server.url}/api/v1/sandboxes/demo/files${path}`);
    const req = request(url, { method: 'PUT', headers: { 'content-length': body.size } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        if ((res.statusCode ?? 0) < 300) resolve();
        else
          reject(
            errorFromResponse({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
          );
      });
    });
    req.on('error', reject);
    signal.addEventListener('abort', () => req.destroy(new DOMException('aborted', 'AbortError')));
    void (async () => {
      const bytes = new Uint8Array(await body.arrayBuffer());
      for (let off = 0; off < bytes.length; off += CHUNK) {
        const part = bytes.subarray(off, off + CHUNK);
        await new Promise<void>((r) => req.write(part, () => r()));
        onProgress({ loaded: off + part.length, total: bytes.length });
      }
      req.end();
    })();
  });

function blobOf(size: number, fill: number): Blob {
  return new Blob([new Uint8Array(size).fill(fill)]);
}

describe('UploadQueue', () => {
  it('sends dropped files one after another with growing progress, and refuses an oversized one without a request', async () => {
    const received = new Map<string, Buffer>();
    for (const name of ['a.bin', 'b.bin']) {
      sdk.server.route(`PUT /api/v1/sandboxes/demo/files/workspace/in/${name}`, (req, res) => {
        received.set(name, req.body);
        sendJson(res, 201, { path: `/workspace/in/${name}`, bytes: req.body.length });
      });
    }
    const uploaded: string[] = [];
    const queue = new UploadQueue(httpSender, (p) => uploaded.push(p));
    const progress: number[] = [];
    queue.subscribe((items) => {
      const a = items.find((i) => i.path.endsWith('a.bin'));
      if (a && progress.at(-1) !== a.loaded) progress.push(a.loaded);
    });
    queue.add(
      [
        { name: 'a.bin', blob: blobOf(5 * CHUNK + 10, 1) },
        { name: 'huge.bin', blob: blobOf(32 * 1024 * 1024 + 1, 0) },
        { name: 'b.bin', blob: blobOf(100, 2) },
      ],
      '/workspace/in/',
    );
    await eventually(() => !queue.busy, 'the queue to drain');
    const byName = Object.fromEntries(queue.snapshot.map((i) => [i.path, i]));
    expect(byName['/workspace/in/a.bin']).toMatchObject({ state: 'done', loaded: 5 * CHUNK + 10 });
    expect(byName['/workspace/in/b.bin']).toMatchObject({ state: 'done', loaded: 100 });
    expect(byName['/workspace/in/huge.bin']?.state).toBe('failed');
    expect(byName['/workspace/in/huge.bin']?.error?.next).toContain('32 MiB');
    expect(sdk.server.requests.map((r) => r.path)).toEqual([
      '/api/v1/sandboxes/demo/files/workspace/in/a.bin',
      '/api/v1/sandboxes/demo/files/workspace/in/b.bin',
    ]);
    expect(received.get('a.bin')?.equals(Buffer.alloc(5 * CHUNK + 10, 1))).toBe(true);
    expect(received.get('b.bin')?.equals(Buffer.alloc(100, 2))).toBe(true);
    // Progress went up in steps (more than "nothing" then "all") and never backwards.
    expect(progress.length).toBeGreaterThan(3);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);
    expect(uploaded).toEqual(['/workspace/in/a.bin', '/workspace/in/b.bin']);
    expect(queue.overall).toEqual({ loaded: 5 * CHUNK + 110, total: 5 * CHUNK + 110 });
  });

  it('keeps going after a refused file and says what to do about it', async () => {
    sdk.server.route('PUT /api/v1/sandboxes/demo/files/workspace/x', (_req, res) =>
      sendJson(res, 409, {
        error: 'not running',
        code: 'SANDBOX_NOT_RUNNING',
        message: 'not running',
        requestId: 'r9',
      }),
    );
    sdk.server.route('PUT /api/v1/sandboxes/demo/files/workspace/y', (req, res) =>
      sendJson(res, 201, { path: '/workspace/y', bytes: req.body.length }),
    );
    const queue = new UploadQueue(httpSender);
    queue.add(
      [
        { name: 'x', blob: blobOf(10, 1) },
        { name: 'y', blob: blobOf(10, 1) },
      ],
      '/workspace',
    );
    await eventually(() => !queue.busy, 'the queue to drain');
    expect(queue.snapshot.map((i) => i.state)).toEqual(['failed', 'done']);
    expect(queue.snapshot[0]?.error).toEqual({
      message: 'not running',
      next: 'Resume the sandbox (Resume button at the top of the page), then try again.',
      requestId: 'r9',
    });
  });

  it('cancels a queued file before it is sent', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    sdk.server.route('PUT /api/v1/sandboxes/demo/files/workspace/slow', async (req, res) => {
      await gate;
      sendJson(res, 201, { path: '/workspace/slow', bytes: req.body.length });
    });
    const queue = new UploadQueue(httpSender);
    queue.add(
      [
        { name: 'slow', blob: blobOf(10, 1) },
        { name: 'never', blob: blobOf(10, 1) },
      ],
      '/workspace',
    );
    await eventually(() => queue.snapshot[0]?.state === 'uploading', 'the first upload to start');
    queue.cancel(queue.snapshot[1]!.id);
    release();
    await eventually(() => !queue.busy, 'the queue to drain');
    expect(queue.snapshot.map((i) => i.state)).toEqual(['done', 'cancelled']);
    expect(sdk.server.requests.map((r) => r.path)).toEqual(['/api/v1/sandboxes/demo/files/workspace/slow']);
  });
});
