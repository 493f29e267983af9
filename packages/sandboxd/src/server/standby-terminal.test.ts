/**
 * A terminal taken from a standby with the user's first line already typed: the worst case of the race
 * between the standby's child reading its message in raw mode and the first input (standby-start-gate.ts).
 * Real agenttier-reaper from the bundle, real pty.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { ensureSandboxdBundle } from '../bundle.ts';
import { findReaper, standbyTerminalArgv } from './reaper.ts';
import { STANDBY_READY, standbyMessage } from './standby.ts';
import { STANDBY_STARTED, StandbyStartGate } from './standby-start-gate.ts';
import { loadPty } from './terminals.ts';

const bundle = await ensureSandboxdBundle();
const reaper = findReaper(new URL(`file://${bundle.entry}`).href);
const pty = loadPty();

describe.skipIf(!reaper || pty instanceof Error)('a standby terminal', () => {
  it('runs the line typed before its shell started, and shows no marker', async () => {
    if (pty instanceof Error || !reaper) return;
    const term = pty.spawn(reaper, standbyTerminalArgv(reaper, 0).slice(1), {
      name: 'xterm-256color',
      cols: 80,
      rows: 24,
      cwd: '/',
      env: {},
    });
    try {
      let raw = '';
      let shown = '';
      const gate = new StandbyStartGate((d) => term.write(d));
      let ready = false;
      term.onData((d) => {
        raw += d;
        if (ready) shown += gate.output(d);
        else ready = raw.includes(STANDBY_READY);
      });
      await eventually(() => ready, 'the standby child in raw mode (STANDBY_READY)', 30_000);
      // The message and the first line reach the pty before the child can have read the message.
      term.write(standbyMessage(['/bin/sh'], '/', { PATH: '/usr/bin:/bin', PS1: '$ ' }).toString('utf8'));
      gate.send('echo typed-$((6*7))\r');
      await eventually(() => shown.includes('typed-42'), 'the typed line run by the shell', {
        timeoutMs: 30_000,
        lastSeen: () => JSON.stringify(shown),
      });
      expect(raw).toContain(STANDBY_STARTED);
      expect(shown).not.toContain('agenttier-started');
    } finally {
      term.kill('SIGKILL');
    }
  });
});
