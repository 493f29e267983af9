import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { parseProcStat } from './procfs.ts';

/**
 * Containment of what a process starts, whatever it does to escape.
 *
 * A session, a process group and an environment marker are all things a process can leave:
 * `env -i setsid sh -c '… &'` (or any double fork) gave a fork bomb with none of them, reparented to
 * the container's init, that outlived its exec. The kernel offers one boundary a process cannot leave
 * on its own: the **child subreaper**. Every process sandboxd starts (exec, background process,
 * terminal shell) runs under its own `agenttier-reaper` (src/native/reaper.c, a static C binary built
 * with the bundle): a subreaper that forks the command and reaps. An orphan anywhere below it is
 * reparented to that reaper, never further up, so "the reaper's descendants" is exactly what the
 * command started, and sandboxd kills that subtree when the process ends (process-tree.ts).
 *
 * Where subreapers are refused (gVisor), the reaper holds the command in a user + PID namespace of
 * its own instead, as that namespace's init (reaper.c); the subtree below the reaper is the same.
 *
 * The one way out is to kill the reaper itself (same uid). Its descendants are then reparented to the
 * next subreaper up: the container's init (pid 1; sandboxd is its child), which reaps but never runs
 * anything of its own. So whenever a reaper exits, sandboxd kills every child of its own parent other
 * than itself, and their descendants ({@link killAdopted}): they can only be escapees.
 */

/** The reaper's file name next to sandboxd.mjs (bundle.ts REAPER_FILE). */
const REAPER_FILE = 'agenttier-reaper';

/** The environment variable naming the launcher pid when sandboxd itself runs under a reaper (local test runs). */
export const REAPER_PID_ENV = 'AGENTTIER_SANDBOXD_REAPER_PID';

/**
 * The reaper next to this bundle, when it exists and this kernel lets it be a subreaper or make a PID
 * namespace (`--check`);
 * undefined otherwise (sandboxd then falls back to session, group and marker: see docs/security.md).
 */
export function findReaper(moduleUrl: string): string | undefined {
  let path: string;
  try {
    path = fileURLToPath(new URL(`./${REAPER_FILE}`, moduleUrl));
    accessSync(path, constants.X_OK);
  } catch {
    return undefined;
  }
  const check = spawnSync(path, ['--check'], { stdio: 'ignore', timeout: 5000 });
  return check.status === 0 ? path : undefined;
}

/**
 * The pid whose adopted children are escapees: sandboxd's parent when that is the container's init
 * (pid 1) or a launching reaper that said so in {@link REAPER_PID_ENV}; undefined anywhere else (a
 * sandboxd started by a test runner must never kill its parent's other children).
 */
export function adoptingParent(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const ppid = process.ppid;
  if (ppid === 1) return 1;
  return env[REAPER_PID_ENV] === String(ppid) ? ppid : undefined;
}

/** argv that runs `argv` under the reaper as a process sandboxd watches through descriptor 3. */
export function anchoredProcessArgv(reaper: string, argv: string[], oomScoreAdj: number): string[] {
  return [reaper, '--status-fd', '3', '--oom-score-adj', String(oomScoreAdj), '--', ...argv];
}

/** argv that runs a terminal's shell under the reaper: it ends with the shell and passes signals on. */
export function anchoredTerminalArgv(reaper: string, argv: string[], oomScoreAdj: number): string[] {
  return [
    reaper,
    '--exit-with-main',
    '--forward-signals',
    '--oom-score-adj',
    String(oomScoreAdj),
    '--',
    ...argv,
  ];
}

/** argv of a standby for {@link anchoredProcessArgv}: its command comes later on descriptor 4 (standby.ts). */
export function standbyProcessArgv(reaper: string, oomScoreAdj: number): string[] {
  return [reaper, '--status-fd', '3', '--oom-score-adj', String(oomScoreAdj), '--command-fd', '4'];
}

/** argv of a standby for {@link anchoredTerminalArgv}: its shell comes later on the pty (standby.ts). */
export function standbyTerminalArgv(reaper: string, oomScoreAdj: number): string[] {
  return [
    reaper,
    '--exit-with-main',
    '--forward-signals',
    '--oom-score-adj',
    String(oomScoreAdj),
    '--command-fd',
    '0',
  ];
}

/** One status line of the reaper (reaper.c `--status-fd`). */
export type ReaperStatus =
  | { kind: 'running'; pid: number }
  | { kind: 'error'; code: string }
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: number }
  /** Nothing is left below the reaper (it had no child to wait for): the command's tree is gone. */
  | { kind: 'emptied' };

export function parseReaperStatus(line: string): ReaperStatus | undefined {
  if (line.trim() === 'D') return { kind: 'emptied' };
  const m = /^([REXS]) (\S+)$/.exec(line.trim());
  if (!m) return undefined;
  const v = m[2]!;
  if (m[1] === 'E') return /^E[A-Z0-9]+$/.test(v) ? { kind: 'error', code: v } : undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) return undefined;
  if (m[1] === 'R') return { kind: 'running', pid: n };
  if (m[1] === 'X') return { kind: 'exited', code: n };
  return { kind: 'signaled', signal: n };
}

/** The reaper's status lines from its descriptor 3, parsed; ends when the reaper exits. */
export async function* reaperStatusLines(stream: Readable): AsyncGenerator<ReaperStatus> {
  let buf = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    buf += chunk.toString('latin1');
    if (buf.length > 4096) return; // not the reaper talking
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const st = parseReaperStatus(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (st) yield st;
    }
  }
}

interface Entry {
  pid: number;
  ppid: number;
}

function scanParents(procRoot: string): Entry[] {
  const out: Entry[] = [];
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`${procRoot}/${name}/stat`, 'latin1');
      const close = text.lastIndexOf(')');
      if (text[close + 2] === 'Z') continue; // dead already, only unreaped
      const st = parseProcStat(text);
      if (st) out.push({ pid: st.pid, ppid: st.ppid });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** `parent`'s direct children from /proc/PID/task/PID/children (a single-threaded parent); undefined when unavailable. */
function directChildren(parent: number, procRoot: string): number[] | undefined {
  try {
    const text = readFileSync(`${procRoot}/${parent}/task/${parent}/children`, 'latin1').trim();
    return text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    return undefined; // no CONFIG_PROC_CHILDREN (gVisor), or not ours to read
  }
}

/** Live processes below `parent` other than `self` and its descendants. */
export function adoptedTree(parent: number, self: number, procRoot = '/proc'): number[] {
  // The common case, after every exec: the parent has adopted nothing. One small read, no scan.
  const direct = directChildren(parent, procRoot);
  if (direct !== undefined && direct.every((p) => p === self)) return [];
  const entries = scanParents(procRoot);
  const children = new Map<number, number[]>();
  for (const e of entries) children.set(e.ppid, [...(children.get(e.ppid) ?? []), e.pid]);
  const out: number[] = [];
  const queue = (children.get(parent) ?? []).filter((p) => p !== self && p !== parent);
  const seen = new Set<number>([self, parent]);
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * Kills every process `parent` adopted other than sandboxd (and their descendants): stop them all
 * (a stopped process cannot fork), kill them, repeat until a scan finds none. Returns how many were
 * still found after `maxRounds`.
 */
export function killAdopted(parent: number, opts: { maxRounds?: number; procRoot?: string } = {}): number {
  const maxRounds = opts.maxRounds ?? 20;
  let left: number[] = [];
  for (let round = 0; round < maxRounds; round++) {
    left = adoptedTree(parent, process.pid, opts.procRoot);
    if (left.length === 0) return 0;
    for (const pid of left) signal(pid, 'SIGSTOP');
    for (const pid of left) signal(pid, 'SIGKILL');
  }
  return left.length;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}
