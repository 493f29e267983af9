/**
 * Agent mode through the CLI against a real local platform, with the example agent
 * (examples/echo-agent/agent.py): configure (idempotent), invoke with exit-code pass-through,
 * timeout, detach + attach, concurrency limit, cancel, records.
 *
 *   AGENTTIER_DOCKER_HOST=unix:///run/agenttier/docker.sock npx vitest run --project integration packages/cli/src/agent.int.test.ts
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { useCliPlatform } from './testing/cli-platform.ts';

const t = useCliPlatform('it-cli-agent', { sandbox: { name: 'bot', template: 'langgraph-agent' } });
const { cli } = t;

const agentPy = fileURLToPath(new URL('../../../examples/echo-agent/agent.py', import.meta.url));
const configureArgs = [
  'configure',
  'bot',
  '--file',
  `/workspace/agent.py=${agentPy}`,
  '--install',
  `sh -c 'echo installing; echo "almost done" >&2'`,
  '--entrypoint',
  'python3 /workspace/agent.py',
];

describe('agenttier configure / invoke / attach / invokes', () => {
  it('refuses to invoke before configure, with a hint', async () => {
    const r = await cli('invoke', 'bot', '--input', 'x');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Hint: Configure it first');
  });

  it('configures with the example agent, streams the install, and skips an identical configure', async () => {
    const first = await cli(...configureArgs);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('[configure] uploading /workspace/agent.py');
    expect(first.stdout).toContain('installing');
    expect(first.stderr).toContain('almost done');
    expect(first.stderr).toMatch(/Install:\s+exited 0/);
    const again = await cli(...configureArgs);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('skipped (already configured)');
    const log = await cli('sandbox', 'exec', 'bot', '--', 'ls', '/workspace/agent.py');
    expect(log.stdout).toBe('/workspace/agent.py\n');
  });

  it('passes the entrypoint’s output and exit code through', async () => {
    const count = await cli('invoke', 'bot', '--input', 'count 3');
    expect(count).toMatchObject({ code: 0, stdout: '1\n2\n3\n', stderr: '' });
    const fail = await cli('invoke', 'bot', '--input', 'fail 3');
    expect(fail).toMatchObject({ code: 3, stdout: '', stderr: 'failing on request\n' });
    const prompt = await cli('invoke', 'bot', '--prompt', 'echo from prompt');
    expect(prompt).toMatchObject({ code: 0, stdout: 'from prompt\n' });
    const timedOut = await cli('invoke', 'bot', '--input', 'sleep 20', '--timeout', '1s');
    expect(timedOut.code).toBe(124);
    expect(timedOut.stderr).toContain('hit its time limit');
  });

  it('detaches, attaches, limits concurrency, cancels and lists the records', async () => {
    const detached = await cli('invoke', 'bot', '--input', 'count 5', '--detach');
    expect(detached.code, detached.stderr).toBe(0);
    const id = detached.stdout.trim();
    expect(id).toMatch(/^inv-[0-9a-f]+$/);
    const attached = await cli('attach', 'bot', id);
    expect(attached).toMatchObject({ code: 0, stdout: '1\n2\n3\n4\n5\n' });

    const limited = await cli(
      'configure',
      'bot',
      '--entrypoint',
      'python3 /workspace/agent.py',
      '--max-concurrent-invokes',
      '1',
    );
    expect(limited.code, limited.stderr).toBe(0);
    // The first invoke's slot is freed when its record is written, which may trail its attach's end on a
    // loaded machine: until then the limit of 1 refuses this one too.
    const long = await eventually(
      async () => {
        const r = await cli('invoke', 'bot', '--input', 'sleep 30', '--detach');
        return r.code === 0 ? r.stdout.trim() : undefined;
      },
      'the long invoke admitted',
      30_000,
    );
    expect(long).toMatch(/^inv-[0-9a-f]+$/);
    const busy = await cli('invoke', 'bot', '--input', 'count 1');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/concurrent invokes/);
    expect(busy.stderr).toMatch(/retry in \d+s/);
    // Cancel only once the agent has printed its first line, so the replay below has output to show:
    // watched live through a second attach (the record's output tail is written when the invoke ends).
    const watching = t.start(['attach', 'bot', long]);
    await watching.waitFor(/working\.\.\./, 'stdout');
    watching.abort();
    await watching.done;
    const canceled = await cli('invoke', 'bot', '--cancel', long);
    expect(canceled.code, canceled.stderr).toBe(0);
    const after = await cli('attach', 'bot', long);
    expect(after.code).toBe(130);
    expect(after.stdout).toContain('working...');

    const records = JSON.parse((await cli('invokes', 'bot', '-o', 'json')).stdout) as Array<{
      invokeId: string;
      reason?: string;
      exitCode?: number;
    }>;
    expect(records.find((r) => r.invokeId === id)).toMatchObject({ reason: 'completed', exitCode: 0 });
    expect(records.find((r) => r.invokeId === long)).toMatchObject({ reason: 'canceled' });
    const table = await cli('invokes', 'bot');
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+completed\\s+0\\s+`, 'm'));
    const one = await cli('invokes', 'bot', id);
    expect(one.stdout).toContain('Output (tail):');
  });

  it('exits 1 when the install fails', async () => {
    const r = await cli('configure', 'bot', '--install', 'sh -c "echo broken >&2; exit 7"');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('broken');
    expect(r.stderr).toContain('the install command exited with code 7');
  });
});
