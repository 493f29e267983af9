/**
 * agenttier-reaper as built into the bundle, on the host: its status lines, that it holds what its
 * command orphans (whatever session or environment), and that its command dies with it.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { ensureSandboxdBundle } from '../bundle.ts';
import {
  adoptedTree,
  findReaper,
  parseReaperStatus,
  reaperStatusLines,
  standbyProcessArgv,
} from './reaper.ts';
import type { ReaperStatus } from './reaper.ts';
import { standbyMessage } from './standby.ts';

const bundle = await ensureSandboxdBundle();
const reaper = findReaper(new URL(`file://${bundle.entry}`).href);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Follows a spawned reaper: its stdout, its status lines (fd 3) and its exit code. */
function watched(child: ChildProcess) {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const lines: ReaperStatus[] = [];
  const done = (async () => {
    for await (const st of reaperStatusLines(child.stdio[3] as Readable)) lines.push(st);
  })();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, done, exited, out: () => out };
}

function run(argv: string[]) {
  return watched(
    spawn(reaper!, ['--status-fd', '3', '--', ...argv], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
    }),
  );
}

describe.skipIf(!reaper)('agenttier-reaper', () => {
  it('reports the command running, then its own exit status, and keeps what it orphaned', async () => {
    const r = run(['sh', '-c', "env -i setsid sh -c 'echo $$; sleep 0.5' & wait; exit 7"]);
    const code = await r.exited;
    await r.done;
    expect(r.lines[0]).toMatchObject({ kind: 'running' });
    // "D" (nothing left below it) only after the orphan ended too: sandboxd then skips the tree scan.
    expect(r.lines.slice(1)).toEqual([{ kind: 'exited', code: 7 }, { kind: 'emptied' }]);
    // The reaper stayed until the orphan (new session, empty environment) ended, and was its parent.
    expect(code).toBe(7);
    expect(r.out()).toMatch(/^\d+\n$/);
  });

  it('says why a command cannot start', async () => {
    const r = run(['/nonexistent/cmd']);
    await r.done;
    expect(r.lines).toEqual([{ kind: 'error', code: 'ENOENT' }]);
    expect(await r.exited).toBe(127);
  });

  it('reports a command killed by a signal, and holds orphans while they live', async () => {
    const r = run(['sh', '-c', '(env -i setsid sleep 30 &); kill -9 $$']);
    await eventually(async () => (r.lines.length >= 2 ? true : undefined), 'two status lines');
    expect(r.lines[1]).toEqual({ kind: 'signaled', signal: 9 });
    // The orphaned sleep is below the reaper, whatever its session.
    const held = await eventually(async () => {
      const below = adoptedTree(r.child.pid!, -1);
      return below.length > 0 ? below : undefined;
    }, 'the orphan below the reaper');
    process.kill(-r.child.pid!, 'SIGKILL');
    for (const pid of held) process.kill(pid, 'SIGKILL');
    await r.exited;
    await r.done;
    // Killed while something lived below it: it never said its tree was empty, so sandboxd scans.
    expect(r.lines.map((l) => l.kind)).toEqual(['running', 'signaled']);
  });

  it('takes its command down when it is killed (PR_SET_PDEATHSIG)', async () => {
    const r = run(['sleep', '30']);
    await eventually(async () => (r.lines[0]?.kind === 'running' ? true : undefined), 'running');
    const pid = (r.lines[0] as { pid: number }).pid;
    process.kill(r.child.pid!, 'SIGKILL');
    await eventually(async () => (!alive(pid) ? true : undefined), 'the command gone with its reaper');
  });
});

/** A standby reaper (--command-fd 4): its child is forked and waits for a message. */
function standby() {
  const argv = standbyProcessArgv(reaper!, 0);
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  return { ...watched(child), control: child.stdio[4] as NodeJS.WritableStream };
}

const childrenOf = (pid: number): number[] => adoptedTree(pid, -1);

describe.skipIf(!reaper)('agenttier-reaper standing by (--command-fd)', () => {
  it('has its child forked before any command, then runs the one it is sent with its cwd and environment', async () => {
    const s = standby();
    const waiting = await eventually(async () => {
      const below = childrenOf(s.child.pid!);
      return below.length === 1 ? below[0] : undefined;
    }, 'the forked child waiting');
    expect(s.lines).toEqual([]); // nothing runs yet
    s.control.end(
      standbyMessage(['sh', '-c', 'echo "$PWD $GREETING $$"; exit 3'], '/tmp', {
        PATH: '/usr/bin:/bin',
        GREETING: 'hello world',
      }),
    );
    expect(await s.exited).toBe(3);
    await s.done;
    // The command is the child that was waiting: no fork happened after the message.
    expect(s.lines).toEqual([
      { kind: 'running', pid: waiting },
      { kind: 'exited', code: 3 },
      { kind: 'emptied' },
    ]);
    expect(s.out()).toBe(`/tmp hello world ${waiting}\n`);
  });

  it('keeps an empty argument and an environment value with "=" and newlines as they are', async () => {
    const s = standby();
    s.control.end(
      standbyMessage(['sh', '-c', 'printf "[%s]" "$@" "$V"', 'sh', '', 'a b'], '/', { V: 'x=y\nz' }),
    );
    await s.exited;
    expect(s.out()).toBe('[][a b][x=y\nz]');
  });

  it('says why a command it is sent cannot start, and ends unstarted on a bad or missing message', async () => {
    const missing = standby();
    missing.control.end(standbyMessage(['/nonexistent/cmd'], '/', {}));
    expect(await missing.exited).toBe(127);
    await missing.done;
    expect(missing.lines).toEqual([{ kind: 'error', code: 'ENOENT' }]);

    const badCwd = standby();
    badCwd.control.end(standbyMessage(['true'], '/nonexistent-dir', {}));
    await badCwd.done;
    expect(badCwd.lines).toEqual([{ kind: 'error', code: 'ENOENT' }]);

    for (const bad of [
      Buffer.from('/\0x\0true\0' + '0\0'), // argc not a number
      Buffer.from('/\0' + '0\0' + '0\0'), // no argv
      Buffer.concat([standbyMessage(['true'], '/', {}), Buffer.from('extra\0')]), // trailing data
      Buffer.from('/\0' + '2\0' + 'true\0'), // cut short (end of file)
      Buffer.alloc(0),
    ]) {
      const s = standby();
      s.control.end(bad);
      expect(await s.exited, JSON.stringify(bad.toString())).toBeGreaterThanOrEqual(126);
      await s.done;
      expect(s.lines).toEqual([{ kind: 'error', code: 'EIO' }]);
    }
  });

  it('takes its waiting child down when it is killed before any command', async () => {
    const s = standby();
    const waiting = await eventually(async () => childrenOf(s.child.pid!)[0], 'the forked child');
    process.kill(s.child.pid!, 'SIGKILL');
    await eventually(async () => (!alive(waiting) ? true : undefined), 'the waiting child gone');
  });
});

/** Runs as root here: the reaper can be started as another uid, whose /proc view then tells. */
const asRoot = process.getuid?.() === 0;

describe.skipIf(!reaper || !asRoot)('agenttier-reaper against code of its own uid', () => {
  it("is non-dumpable, and so is its waiting child: their /proc entries are root's", async () => {
    const argv = standbyProcessArgv(reaper!, 500);
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
      detached: true,
      uid: 1000,
      gid: 1000,
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const waiting = await eventually(() => childrenOf(child.pid!)[0], 'the forked child');
      for (const pid of [child.pid!, waiting]) {
        // A dumpable process of uid 1000 has them owned by 1000 (its user could open them).
        expect(statSync(`/proc/${pid}/environ`).uid, `pid ${pid}`).toBe(0);
        expect(statSync(`/proc/${pid}/mem`).uid, `pid ${pid}`).toBe(0);
        expect(statSync(`/proc/${pid}/status`).uid, `pid ${pid}`).toBe(0);
      }
      // Its oom_score_adj was still set (opened before it became non-dumpable).
      expect(readFileSync(`/proc/${child.pid}/oom_score_adj`, 'utf8').trim()).toBe('500');
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
  });

  it('refuses to start anything when a tracer already holds it', () => {
    // PTRACE_TRACEME (0) then exec: the reaper starts traced, as if the sandbox's code had attached
    // before its prctl; PTRACE_CONT (7) lets it run on. It must end 126 without running the command.
    // Perl's $? reads 0 for a stopped child: the native status tells stops from the exit.
    const script = [
      'use POSIX ":sys_wait_h";',
      'my $pid = fork;',
      'if (!$pid) { syscall(101, 0, 0, 0, 0); exec @ARGV; exit 99 }',
      'while (1) { waitpid($pid, 0); my $st = ${^CHILD_ERROR_NATIVE};',
      'if (WIFEXITED($st)) { print "exit=", WEXITSTATUS($st), "\\n"; last }',
      'last if WIFSIGNALED($st); syscall(101, 7, $pid, 0, 0) }',
    ].join(' ');
    const out = execFileSync('perl', ['-e', script, reaper!, '--', 'sh', '-c', 'echo command-ran'], {
      encoding: 'utf8',
    });
    expect(out).toBe('exit=126\n');
  });
});

describe('status lines', () => {
  it('parses the five kinds and refuses anything else', () => {
    expect(parseReaperStatus('R 12')).toEqual({ kind: 'running', pid: 12 });
    expect(parseReaperStatus('E ENOENT')).toEqual({ kind: 'error', code: 'ENOENT' });
    expect(parseReaperStatus('X 0')).toEqual({ kind: 'exited', code: 0 });
    expect(parseReaperStatus('S 15')).toEqual({ kind: 'signaled', signal: 15 });
    expect(parseReaperStatus('D')).toEqual({ kind: 'emptied' });
    for (const bad of ['', 'R', 'R -1', 'X 1.5', 'E enoent', 'Q 1', 'R 1 2', 'D 0', 'DD'])
      expect(parseReaperStatus(bad), bad).toBeUndefined();
  });
});
