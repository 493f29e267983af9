import { describe, expect, it } from 'vitest';
import { LABEL_NAMESPACE } from '@agenttier/contract';
import { createDockerClient } from '@agenttier/platform-local';
import { api, dockerHost, waitForPhase } from './testing/platform.ts';
import { useServerProcesses } from './testing/server-process.ts';

const { ns, start: startServer } = useServerProcesses('it-crash');
const docker = createDockerClient(dockerHost);

describe('kill -9 of the server', () => {
  it('loses no sandbox and no workspace, and finishes a create cut off in the middle', async () => {
    let server = await startServer();
    let { base } = server;
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
    await server.kill9();

    server = await startServer();
    ({ base } = server);
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
    await server.kill9();
    server = await startServer();
    ({ base } = server);
    await waitForPhase(base, ns, 'survivor', 'Gone');
    await waitForPhase(base, ns, 'halfway', 'Gone');
    const filters = { label: [`${LABEL_NAMESPACE}=${ns}`] };
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
    await server.kill9();
  });
});
