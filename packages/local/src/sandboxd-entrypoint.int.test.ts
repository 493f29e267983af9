/**
 * The container entrypoint that starts sandboxd (platform-local's container spec): sandboxd must be
 * the direct child of the engine's init, so `docker stop` delivers SIGTERM to it and it shuts down
 * cleanly (terminals told `sandbox_stopped`, children killed, socket removed, exit 0) instead of
 * being SIGKILLed when a wrapping shell dies.
 */
import { describe, expect, it } from 'vitest';
import { createDockerClient } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import { dockerHost } from './testing/platform.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const bed = useLocalPlatform('it-entry');
const { ns } = bed;

describe('the sandboxd entrypoint', () => {
  it('makes sandboxd the child of init, so docker stop reaches it with SIGTERM', async () => {
    await bed.createRunning('stopme', 'minimal-shell');

    // exec goes through sandboxd: the shell's parent is its agenttier-reaper, whose parent is sandboxd,
    // whose parent must be init (pid 1).
    const r = await bed.api('POST', `/api/v1/sandboxes/stopme/exec?namespace=${ns}`, {
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
    const pending = bed
      .api('POST', `/api/v1/sandboxes/stopme/exec?namespace=${ns}`, {
        command: ['sleep', '3600'],
        timeout: 3600,
      })
      .catch((err: unknown) => err);
    await eventually(
      async () => (await bed.exec('stopme', "ps -eo args= | grep -c '^sleep 3600'")).stdout.trim() === '1',
      'the long exec to be running',
    );
    await bed.platform.close();
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
