/**
 * The terminal masters are close-on-exec from their creation (pty-patch.ts), without any help from
 * agenttier-reaper's descriptor sweep: this sandboxd runs without reapers (AGENTTIER_SANDBOXD_REAPER=off),
 * so execs and shells are started straight by Node and node-pty, as under gVisor the reaper does not
 * sweep either. node-pty unpatched leaves every open terminal's master in each of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';

import { startLocalSandboxd } from './local.ts';
import type { LocalSandboxd } from './local.ts';

let sd: LocalSandboxd;

beforeAll(async () => {
  sd = await startLocalSandboxd({ env: { AGENTTIER_SANDBOXD_REAPER: 'off' } });
}, 300_000);

afterAll(async () => {
  await sd?.stop();
});

/** `fd N -> target` for every descriptor of the shell that runs it (the glob's own is gone by then). */
const LIST_FDS = 'cd /proc/$$/fd && for f in *; do l=$(readlink /proc/$$/fd/$f) && echo "fd $f -> $l"; done';

describe('terminal masters without the reaper', () => {
  it('reach neither an exec nor another terminal', async () => {
    const owner = await sd.client.terminal({ session: 'owner', cols: 200, rows: 24 });
    let ownerText = '';
    owner.on('frame', (f) => {
      if (f.type === 'output') ownerText += f.data;
    });
    owner.input('echo owner-$((6*7))\r');
    await eventually(() => ownerText.includes('owner-42'), 'the owner terminal answering', 30_000);

    const exec = await sd.client.exec({ command: LIST_FDS });
    expect(exec.exitCode, exec.stderr).toBe(0);
    expect(exec.stdout).toMatch(/^fd 0 -> /m);
    expect(exec.stdout).not.toMatch(/ptmx/);

    const other = await sd.client.terminal({ session: 'other', cols: 200, rows: 24 });
    let otherText = '';
    other.on('frame', (f) => {
      if (f.type === 'output') otherText += f.data;
    });
    other.input(`${LIST_FDS}; echo fds-$((2+3))-done\r`);
    await eventually(
      () => otherText.includes('fds-5-done'),
      'the second shell listed its descriptors',
      30_000,
    );
    expect(otherText).toMatch(/fd 0 -> \/dev\/pts\/\d+/);
    expect(otherText).not.toMatch(/ptmx/);

    owner.close();
    other.close();
  });
});
