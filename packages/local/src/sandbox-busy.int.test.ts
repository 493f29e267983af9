/**
 * A sandbox whose own processes fill its pids limit, seen through the REST API: exec and archive answer
 * 200 or `503 SANDBOX_BUSY` with `Retry-After` (never a 500, never "file not found"), file reads work,
 * and everything works again once the flood is killed — without sandboxd restarting.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const bed = useLocalPlatform('it-busy');
const { ns } = bed;
/** sandboxd's pid, from an exec: the shell's parent is its agenttier-reaper, whose parent is sandboxd. */
const SANDBOXD_PID = 'ps -o ppid= -p $PPID | tr -d " "';

const q = `namespace=${ns}`;

describe('a sandbox at its pids limit, through the API', () => {
  it('is reported busy, never as missing or broken, and recovers', async () => {
    await bed.createRunning('flooded', { templateRef: { name: 'minimal-shell' }, resources: { pids: 64 } });
    await bed.exec('flooded', 'echo hello > /workspace/hello.txt');
    const daemonPid = (await bed.exec('flooded', SANDBOXD_PID)).stdout;

    const flood = await bed.api('POST', `/api/v1/sandboxes/flooded/processes?${q}`, {
      // bash retries a failed fork and loops on, so the limit stays full until the group is killed
      command: ['bash', '-c', 'while :; do sleep 600 & done 2>/dev/null'],
    });
    expect(flood.status, flood.text).toBe(201);
    const floodId = flood.json.id ?? flood.json.pid;

    // Wait until the limit bites: an exec is refused as busy.
    const busy = await eventually(
      async () => {
        const r = await bed.api('POST', `/api/v1/sandboxes/flooded/exec?${q}`, { command: ['true'] });
        return r.status === 503 ? r : undefined;
      },
      'an exec refused as busy',
      60_000,
    );
    expect(busy.json).toMatchObject({ code: 'SANDBOX_BUSY' });
    expect(busy.json.message).toMatch(/EAGAIN|processes|pids/);
    // headers are not on the api() helper's result: ask again with fetch for Retry-After
    const again = await fetch(`${bed.base}/api/v1/sandboxes/flooded/exec?${q}`, {
      method: 'POST',
      body: JSON.stringify({ command: ['true'] }),
      headers: { 'content-type': 'application/json' },
    });
    if (again.status === 503) expect(again.headers.get('retry-after')).toBe('1');

    for (let i = 0; i < 5; i++) {
      const r = await bed.api('POST', `/api/v1/sandboxes/flooded/exec?${q}`, { command: ['true'] });
      expect([200, 503], r.text).toContain(r.status);
      if (r.status === 503) expect(r.json.code).toBe('SANDBOX_BUSY');
      const archive = await bed.api('GET', `/api/v1/sandboxes/flooded/archive?${q}&path=/workspace`);
      expect([200, 503], archive.text).toContain(archive.status);
      if (archive.status === 503) expect(archive.json.code).toBe('SANDBOX_BUSY');
    }
    const file = await bed.api('GET', `/api/v1/sandboxes/flooded/files/workspace/hello.txt?${q}`);
    expect(file.status).toBe(200);
    expect(file.text).toBe('hello\n');

    expect((await bed.api('DELETE', `/api/v1/sandboxes/flooded/processes/${floodId}?${q}`)).status).toBe(200);
    await eventually(
      async () =>
        (await bed.api('POST', `/api/v1/sandboxes/flooded/exec?${q}`, { command: ['true'] })).status === 200,
      'exec to work again',
      30_000,
    );
    expect((await bed.exec('flooded', SANDBOXD_PID)).stdout).toBe(daemonPid);
  });
});
