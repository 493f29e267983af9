import { describe, expect, it } from 'vitest';
import { createDockerClient } from '@agenttier/platform-local';
import { dockerHost } from './testing/platform.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

/**
 * Issue 14 on the real engine: what the seed product's clients send takes effect. Seed 000's flat
 * create overrides change the container's limits; the seed web UI's empty JSON bodies stop and delete.
 */

const bed = useLocalPlatform('it-seed');
const { ns } = bed;
const docker = createDockerClient(dockerHost);

/** The seed web UI's request: JSON declared, no body at all. */
const emptyJson = (method: string, path: string) =>
  fetch(`${bed.base}${path}`, { method, headers: { 'content-type': 'application/json' } });

describe('seed clients against the local platform', () => {
  it('flat resources and maxRuntime reach the container; empty JSON bodies stop and delete it', async () => {
    const created = await bed.api('POST', '/api/v1/sandboxes', {
      name: 'flat',
      namespace: ns,
      templateRef: { name: 'minimal-shell', kind: 'ClusterSandboxTemplate' },
      resources: { cpu: '1', memory: '768Mi' },
      maxRuntime: '24h',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.timeout).toBe('24h');
    await bed.waitForPhase('flat', 'Running');
    const info = await docker.getContainer(`agenttier-${ns}-flat`).inspect();
    expect(info.HostConfig.Memory).toBe(768 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(1_000_000_000);

    const stop = await emptyJson('POST', `/api/v1/sandboxes/flat/stop?namespace=${ns}`);
    expect(stop.status, await stop.text()).toBe(200);
    await bed.waitForPhase('flat', 'Stopped');
    const del = await emptyJson('DELETE', `/api/v1/sandboxes/flat?namespace=${ns}`);
    expect(del.status).toBe(204);
    await bed.waitForPhase('flat', 'Gone');
  });

  it('health answers JSON to a client asking for it', async () => {
    const res = await fetch(`${bed.base}/healthz`, { headers: { accept: 'application/json' } });
    expect(await res.json()).toMatchObject({ status: 'ok', version: expect.any(String) });
    expect(await (await fetch(`${bed.base}/healthz`)).text()).toBe('ok');
  });
});
