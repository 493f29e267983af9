import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient } from '@agenttier/platform-local';
import {
  api,
  dockerHost,
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  waitForPhase,
} from './testing/platform.ts';
import type { TestPlatform } from './testing/platform.ts';

/**
 * Issue 14 on the real engine: what the seed product's clients send takes effect. Seed 000's flat
 * create overrides change the container's limits; the seed web UI's empty JSON bodies stop and delete.
 */

const ns = testNamespace('it-seed');
const docker = createDockerClient(dockerHost);
let platform: TestPlatform;
let base: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  base = platform.url;
});

afterAll(async () => {
  await stopTestPlatform(platform, { namespace: ns });
});

/** The seed web UI's request: JSON declared, no body at all. */
const emptyJson = (method: string, path: string) =>
  fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' } });

describe('seed clients against the local platform', () => {
  it('flat resources and maxRuntime reach the container; empty JSON bodies stop and delete it', async () => {
    const created = await api(base, 'POST', '/api/v1/sandboxes', {
      name: 'flat',
      namespace: ns,
      templateRef: { name: 'minimal-shell', kind: 'ClusterSandboxTemplate' },
      resources: { cpu: '1', memory: '768Mi' },
      maxRuntime: '24h',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.timeout).toBe('24h');
    await waitForPhase(base, ns, 'flat', 'Running');
    const info = await docker.getContainer(`agenttier-${ns}-flat`).inspect();
    expect(info.HostConfig.Memory).toBe(768 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(1_000_000_000);

    const stop = await emptyJson('POST', `/api/v1/sandboxes/flat/stop?namespace=${ns}`);
    expect(stop.status, await stop.text()).toBe(200);
    await waitForPhase(base, ns, 'flat', 'Stopped');
    const del = await emptyJson('DELETE', `/api/v1/sandboxes/flat?namespace=${ns}`);
    expect(del.status).toBe(204);
    await waitForPhase(base, ns, 'flat', 'Gone');
  });

  it('health answers JSON to a client asking for it', async () => {
    const res = await fetch(`${base}/healthz`, { headers: { accept: 'application/json' } });
    expect(await res.json()).toMatchObject({ status: 'ok', version: expect.any(String) });
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok');
  });
});
