/**
 * The container entrypoint that starts sandboxd (platform-local's container spec): sandboxd must be
 * the direct child of the engine's init, so `docker stop` delivers SIGTERM to it and it shuts down
 * cleanly (terminals told `sandbox_stopped`, children killed, socket removed, exit 0) instead of
 * being SIGKILLed when a wrapping shell dies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient } from '@agenttier/platform-local';
import type { LocalPlatform } from './local-platform.ts';
import {
  api,
  dockerHost,
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  waitForPhase,
} from './testing/platform.ts';

const ns = testNamespace('it-entry');
let platform: (LocalPlatform & { dataDir: string }) | undefined;

beforeAll(async () => {
  platform = await startTestPlatform();
});

afterAll(async () => {
  await stopTestPlatform(platform, { namespace: ns });
});

describe('the sandboxd entrypoint', () => {
  it('makes sandboxd the child of init, so docker stop reaches it with SIGTERM', async () => {
    const base = platform!.url;
    const created = await api(base, 'POST', '/api/v1/sandboxes', {
      name: 'stopme',
      namespace: ns,
      templateRef: { name: 'minimal-shell' },
    });
    expect(created.status, created.text).toBe(201);
    await waitForPhase(base, ns, 'stopme', 'Running');

    // exec goes through sandboxd: the shell's parent is its agenttier-reaper, whose parent is sandboxd,
    // whose parent must be init (pid 1).
    const r = await api(base, 'POST', `/api/v1/sandboxes/stopme/exec?namespace=${ns}`, {
      command: [
        '/bin/sh',
        '-c',
        'D=$(ps -o ppid= -p $PPID | tr -d " "); grep PPid /proc/$D/status; tr "\\0" " " < /proc/$D/cmdline',
      ],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.stdout).toMatch(/^PPid:\s+1\n/);
    expect(r.json.stdout).toContain('/opt/agenttier/sandboxd/sandboxd.mjs');

    // Without the platform (its controller would restart the container), stop it as `docker stop` does.
    // close() does not wait for a request still running (an exec of a long command).
    const pending = api(base, 'POST', `/api/v1/sandboxes/stopme/exec?namespace=${ns}`, {
      command: ['sleep', '3600'],
      timeout: 3600,
    }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300));
    await platform!.close();
    expect(await pending).toBeInstanceOf(Error); // the connection was cut
    const docker = createDockerClient(dockerHost);
    const container = docker.getContainer(`agenttier-${ns}-stopme`);
    await container.stop({ t: 60 });
    const state = (await container.inspect()).State;
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    expect(logs).toMatch(/"msg":"stopping".*"signal":"SIGTERM"/);
    expect(state).toMatchObject({ ExitCode: 0, OOMKilled: false });
  });
});
