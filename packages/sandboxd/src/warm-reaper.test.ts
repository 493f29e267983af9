/**
 * Warm reapers (processes.ts `warmCount`): after its first command, sandboxd keeps a reaper waiting,
 * and the next exec or process starts on it instead of on a reaper spawned for the request; the one used
 * is replaced. A command on a warm reaper sees what a freshly spawned one would: its cwd, environment,
 * stdin, exit status and output, and its tree dies with it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually } from '@agenttier/testkit';

import type { SandboxdClient } from './client.ts';
import { startLocalSandboxd } from './local.ts';
import type { LocalSandboxd } from './local.ts';

let sd: LocalSandboxd;
let c: SandboxdClient;
let daemon: number;

beforeAll(async () => {
  sd = await startLocalSandboxd();
  c = sd.client;
  daemon = (await c.info()).pid;
}, 300_000);

afterAll(async () => {
  await sd?.stop();
});

function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    return []; // gone meanwhile
  }
}

function isProcessStandbyReaper(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('--command-fd') && argv.includes('--status-fd');
  } catch {
    return false; // gone meanwhile
  }
}

/**
 * sandboxd's process standbys (reaper `--command-fd 4`) still waiting for a command: their forked
 * child is still the reaper's image (once it has a command, it is that command).
 */
function waitingReapers(): number[] {
  return childrenOf(daemon).filter(
    (pid) => isProcessStandbyReaper(pid) && childrenOf(pid).some(isProcessStandbyReaper),
  );
}

describe('warm reapers', () => {
  it('starts the next command on a reaper that was waiting before it was asked for, then replaces it', async () => {
    expect((await c.exec({ command: ['true'] })).exitCode).toBe(0);
    // The pids reserve (one standby) and the warm reaper (one more).
    const before = await eventually(
      () => {
        const w = waitingReapers();
        return w.length >= 2 ? w : undefined;
      },
      'two process standbys waiting (the reserve and the warm reaper)',
      15_000,
    );
    const started = await c.startProcess({ command: ['sleep', '60'] });
    expect(before).toContain(started.pid);
    // A new warm reaper takes its place; the one in use is no longer waiting.
    await eventually(
      () => {
        const w = waitingReapers();
        return w.length >= 2 && !w.includes(started.pid!);
      },
      'the warm reaper replaced',
      15_000,
    );
    await c.killProcess(started.id, { graceMs: 0 });
  });

  it('gives a command on a warm reaper the same cwd, environment, stdin, status and output', async () => {
    await c.exec({ command: ['true'] });
    await eventually(() => waitingReapers().length >= 2, 'a warm reaper waiting', 15_000);
    const r = await c.exec({
      command: ['sh', '-c', 'printf "%s|%s|" "$PWD" "$GREETING"; cat; echo oops >&2; exit 7'],
      cwd: sd.tmp,
      env: { GREETING: 'hello world' },
      stdin: 'from stdin',
    });
    expect(r).toMatchObject({
      stdout: `${sd.tmp}|hello world|from stdin`,
      stderr: 'oops\n',
      exitCode: 7,
      timedOut: false,
    });
    // A command that cannot run answers like a shell would, on a warm reaper too.
    await eventually(() => waitingReapers().length >= 2, 'a warm reaper waiting', 15_000);
    expect((await c.exec({ command: ['/nonexistent/cmd'] })).exitCode).toBe(127);
  });

  it("kills the command's whole tree when it ends, as on any reaper", async () => {
    await c.exec({ command: ['true'] });
    await eventually(() => waitingReapers().length >= 2, 'a warm reaper waiting', 15_000);
    const r = await c.exec({ command: ['sh', '-c', 'setsid sleep 300 & echo $!'] });
    const orphan = Number(r.stdout.trim());
    expect(orphan).toBeGreaterThan(0);
    await eventually(() => {
      try {
        const stat = readFileSync(`/proc/${orphan}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
      } catch {
        return true; // gone
      }
    }, 'the setsid child of the exec to be dead');
  });
});
