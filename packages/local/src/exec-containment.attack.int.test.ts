/**
 * Issue 8 item 9, as a hostile sandbox would do it: processes that leave their exec every way a
 * process can (a new session without the environment marker, a double fork, `nohup … & disown`, a new
 * process group, killing the reaper that holds them) must all die when the exec ends, times out, or
 * its background process is killed. Real engine (runc, and runsc when registered), real sandboxd; the
 * survivors are counted with `ps` inside the sandbox.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { createRuntimeTemplates, probeEngine } from './testing/engine.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const { runsc } = await probeEngine();
const bed = useLocalPlatform('it-escape', {
  // escape-runc at 256 pids; escape-runsc (when registered) with room for the gVisor Sentry's threads.
  setup: (b) => createRuntimeTemplates(b, 'escape', { runsc, runcPids: 256 }),
});

/**
 * Each way out of an exec, as one shell line that starts `sleep 86<n>` (the survivors' mark) and
 * returns at once. `$PPID` of the exec's shell is its reaper.
 */
const ESCAPES = {
  // The reproduction: a fork loop with no environment, in its own session, orphaned.
  envClearedSetsidBomb:
    "mkfifo /tmp/f$$; env -i setsid /bin/bash -c 'exec 9<>/tmp/f'$$'; while :; do sleep 8601 & read -t 0.05 -u 9; done' &",
  doubleFork: "(env -i setsid sh -c 'sleep 8602 & sleep 8603' &)",
  nohupDisown: 'nohup sleep 8604 >/dev/null 2>&1 & disown',
  newProcessGroup: "env -i perl -e 'setpgrp(0, 0); if (fork) { exit } sleep 8605' &",
  setsidFork: 'env -i setsid -f sleep 8606',
  // Kill the reaper holding all of this: what it held is reparented to the container's init. (In a
  // PID namespace, gVisor's mode, $PPID is the namespace's init: killing it ends the namespace.)
  killTheReaper: "(env -i setsid sh -c 'sleep 8607 & sleep 8608' &); sleep 0.2; kill -9 $PPID",
};

/** Processes of the attack still alive, as `ps` inside the sandbox sees them. */
async function survivors(sb: string): Promise<string[]> {
  const r = await bed.api('POST', `/api/v1/sandboxes/${sb}/exec?${bed.q}`, {
    command: ['ps', '-eo', 'pid=,ppid=,args='],
  });
  if (r.status !== 200) return [`ps answered ${r.status}: ${r.text}`];
  return String(r.json.stdout)
    .split('\n')
    .filter((l) => /sleep 86\d\d|while :; do sleep 86/.test(l));
}

/** Makes a Running sandbox served by sandboxd; whether its execs run under agenttier-reaper. */
async function sandbox(template: string, name: string): Promise<boolean> {
  await bed.createRunning(name, template);
  // The exec's parent is the reaper, or sandboxd itself (node's main thread) when the runtime can hold
  // nothing. It is read from /proc/self/stat, not $PPID: in a PID namespace (gVisor) $PPID is the
  // namespace's 1.
  const parent = await bed.exec(name, [
    'bash',
    '-c',
    'read -r _ _ _ pp _ </proc/self/stat; cat /proc/$pp/comm',
  ]);
  return String(parent.stdout).trim() === 'agenttier-reape';
}

const cases = [
  { template: 'escape-runc', sb: 'esc-runc', skip: false },
  { template: 'escape-runsc', sb: 'esc-runsc', skip: !runsc },
];

describe.each(cases)('processes that try to outlive their exec ($template)', ({ template, sb, skip }) => {
  it.skipIf(skip)(
    'all die when the exec ends, times out, or its background process is killed',
    async () => {
      // Under runsc (2022-12), which refuses PR_SET_CHILD_SUBREAPER to all but a PID namespace's init,
      // the reaper holds each process in its own user + PID namespace instead (reaper.c).
      expect(await sandbox(template, sb), 'execs run under agenttier-reaper').toBe(true);
      const { killTheReaper, ...rest } = ESCAPES;
      const others = Object.values(rest).join('\n'); // lines: several end with `&`
      // Each escape is in place (its sleeps run) before the exec goes on.
      const inPlace = (n: number) =>
        `while [ "$(ps -eo args= | grep -c '^sleep 86')" -lt ${n} ]; do sleep 0.05; done`;
      const noSurvivor = async (what: string) => {
        await eventually(
          async () => ((await survivors(sb)).length === 0 ? true : undefined),
          `no survivor ${what}`,
          // A bound, not a pause: under gVisor on a loaded machine the tree's end was seen to take >15 s.
          60_000,
        ).catch(async (err: unknown) => {
          throw new Error(`${String(err)}: ${(await survivors(sb)).slice(0, 10).join(' | ')}`);
        });
      };

      // 1. The exec ends normally.
      const ended = await bed.exec(sb, `${others}\n${inPlace(6)}; echo started`);
      expect(ended.stdout, JSON.stringify(ended)).toBe('started\n');
      await noSurvivor('after the exec ended');

      // 1b. The exec kills its own reaper (and ends with it) once its escapes are in place.
      const suicide = await bed.api('POST', `/api/v1/sandboxes/${sb}/exec?${bed.q}`, {
        command: ['bash', '-c', killTheReaper],
      });
      expect(suicide.status, suicide.text).toBe(200);
      expect(suicide.json.exitCode).not.toBe(0);
      await noSurvivor('after the exec killed its reaper');

      // 2. The exec times out (each escape is in place before the timeout hits).
      const timed = await bed.api('POST', `/api/v1/sandboxes/${sb}/exec?${bed.q}`, {
        command: ['bash', '-c', `${others}\n${inPlace(6)}; sleep 1000`],
        timeout: 3,
      });
      expect(timed.status, timed.text).toBe(200);
      expect(timed.json.timedOut).toBe(true);
      await noSurvivor('after the timeout');

      // 3. A background process is killed.
      const bg = await bed.api('POST', `/api/v1/sandboxes/${sb}/processes?${bed.q}`, {
        command: ['bash', '-c', `${others}\nsleep 1000`],
      });
      expect(bg.status, bg.text).toBe(201);
      await eventually(
        async () => ((await survivors(sb)).length >= 7 ? true : undefined),
        'the escapes running',
        60_000,
      );
      const id = String(bg.json.id ?? bg.json.pid);
      const killed = await bed.api('DELETE', `/api/v1/sandboxes/${sb}/processes/${id}?${bed.q}`);
      expect([200, 204], killed.text).toContain(killed.status);
      await noSurvivor('after the kill');

      // The sandbox is not left at its pids limit: exec works.
      expect((await bed.exec(sb, 'echo ok')).stdout).toBe('ok\n');
    },
    600_000,
  );
});
