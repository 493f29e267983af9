import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LABEL_NAMESPACE } from '@agenttier/contract';
import { createDockerClient } from '@agenttier/platform-local';
import {
  api,
  dockerHost,
  removeDir,
  removeEngineObjects,
  testNamespace,
  waitForPhase,
} from './testing/platform.ts';

const ns = testNamespace('it-crash');
const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-crash-'));
const docker = createDockerClient(dockerHost);
const children: ChildProcess[] = [];

/** Starts the real server process (what `agenttier up` runs) and resolves with its URL. */
async function startServer(): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./main.ts', import.meta.url).pathname], {
    env: {
      ...process.env,
      AGENTTIER_DATA_DIR: dataDir,
      AGENTTIER_PORT: '0',
      AGENTTIER_DOCKER_HOST: dockerHost,
      // The suite calls the API without keys (as crash-server.ts does): every loopback caller is admin.
      AGENTTIER_DEV_AUTH: 'true',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const base = await new Promise<string>((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(log);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${log}`)));
  });
  return { child, base };
}

async function kill9(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await removeEngineObjects(ns);
  removeDir(dataDir);
});

describe('kill -9 of the server', () => {
  it('loses no sandbox and no workspace, and finishes a create cut off in the middle', async () => {
    let { child, base } = await startServer();
    await api(base, 'POST', '/api/v1/sandboxes', {
      name: 'survivor',
      namespace: ns,
      templateRef: { name: 'minimal-shell' },
    });
    await waitForPhase(base, ns, 'survivor', 'Running');
    await api(
      base,
      'PUT',
      `/api/v1/sandboxes/survivor/files/workspace/data.txt?namespace=${ns}`,
      'before the crash\n',
    );
    // A create acknowledged right before the crash: the controller may not have made anything yet.
    const created = await api(base, 'POST', '/api/v1/sandboxes', {
      name: 'halfway',
      namespace: ns,
      templateRef: { name: 'minimal-shell' },
    });
    expect(created.status).toBe(201);
    await kill9(child);

    ({ child, base } = await startServer());
    await waitForPhase(base, ns, 'halfway', 'Running');
    const survivor = await waitForPhase(base, ns, 'survivor', 'Running');
    expect(survivor.name).toBe('survivor');
    const read = await api(
      base,
      'GET',
      `/api/v1/sandboxes/survivor/files/workspace/data.txt?namespace=${ns}`,
    );
    expect(read.text).toBe('before the crash\n');

    // Delete both, crash during the deletion, and check nothing is left once the server is back.
    await api(base, 'DELETE', `/api/v1/sandboxes/survivor?namespace=${ns}`);
    await api(base, 'DELETE', `/api/v1/sandboxes/halfway?namespace=${ns}`);
    await kill9(child);
    ({ child, base } = await startServer());
    await waitForPhase(base, ns, 'survivor', 'Gone');
    await waitForPhase(base, ns, 'halfway', 'Gone');
    const filters = { label: [`${LABEL_NAMESPACE}=${ns}`] };
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
    await kill9(child);
  });
});
