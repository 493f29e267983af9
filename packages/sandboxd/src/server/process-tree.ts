import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

import { parseProcStat } from './procfs.ts';

/**
 * Every process sandboxd starts carries this variable (value: the process id sandboxd gave it) in its
 * environment, and so does everything it starts unless it clears its environment on purpose. It is how
 * a descendant that left the session (`setsid`) and lost its parent (reparented to the init) is still
 * found when its exec ends.
 */
export const PROCESS_MARKER_ENV = 'AGENTTIER_PROCESS';

interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks after boot when it started (stat field 22). */
  startTicks: number;
}

function parseEntry(text: string): ProcEntry | undefined {
  const st = parseProcStat(text);
  if (!st) return undefined;
  const close = text.lastIndexOf(')');
  // State is the first field after the command name; zombies are already dead, only unreaped.
  if (text[close + 2] === 'Z') return undefined;
  return { ...st, startTicks: Number(text.slice(close + 2).split(' ')[19]) };
}

/** When `pid` started, in clock ticks after boot; undefined when it is gone. */
export function startTicksOf(pid: number, procRoot = '/proc'): number | undefined {
  try {
    return parseEntry(readFileSync(`${procRoot}/${pid}/stat`, 'latin1'))?.startTicks;
  } catch {
    return undefined;
  }
}

/** Live (non-zombie) processes, read synchronously so a scan and the kill that follows are close together. */
function scan(procRoot: string): ProcEntry[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: ProcEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const e = parseEntry(readFileSync(`${procRoot}/${name}/stat`, 'latin1'));
      if (e) out.push(e);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function carriesMarker(procRoot: string, pid: number, needle: Buffer): boolean {
  try {
    const env = readFileSync(`${procRoot}/${pid}/environ`);
    if (env.subarray(0, needle.length - 1).equals(needle.subarray(1))) return true;
    return env.includes(needle);
  } catch {
    return false; // gone, or not ours to read
  }
}

export interface TreeRoot {
  /** Pid of the process sandboxd spawned: also its session and process group id (it was started with setsid). */
  pid: number;
  /** Its {@link PROCESS_MARKER_ENV} value. */
  marker: string;
  /**
   * When root started ({@link startTicksOf}); processes older than that cannot be its descendants and
   * are skipped, which keeps a scan cheap on a busy machine.
   */
  startTicks?: number;
}

/**
 * Pids that belong to the tree `root` started: its session, its process group, carriers of its marker,
 * and every descendant of those. Never sandboxd itself or the sandbox's init.
 */
export function treeMembers(root: TreeRoot, procRoot = '/proc'): number[] {
  const spare = new Set([process.pid, process.ppid, 1]);
  const needle = Buffer.from(`\0${PROCESS_MARKER_ENV}=${root.marker}\0`);
  const since = root.startTicks ?? 0;
  const entries = scan(procRoot).filter((e) => !spare.has(e.pid) && !(e.startTicks < since));
  const members = new Set<number>();
  for (const e of entries) {
    // root is a session leader (it cannot leave its session), and a pid still in use as a session or
    // group id is never handed to a new process: matching on them cannot hit a stranger.
    if (e.session === root.pid || e.pgrp === root.pid) members.add(e.pid);
    else if (carriesMarker(procRoot, e.pid, needle)) members.add(e.pid);
  }
  // Descendants that changed both session and environment are still children of a member.
  const children = new Map<number, number[]>();
  for (const e of entries) children.set(e.ppid, [...(children.get(e.ppid) ?? []), e.pid]);
  const queue = [...members];
  while (queue.length > 0) {
    for (const c of children.get(queue.pop() as number) ?? []) {
      if (!members.has(c)) {
        members.add(c);
        queue.push(c);
      }
    }
  }
  return [...members];
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/**
 * SIGKILLs everything `root` started, however it forked. Each round kills the process group at once
 * (the kernel does that atomically, so a fork bomb in the group cannot outrun it), then stops every
 * other member found (a stopped process cannot fork) and kills them; it repeats until a scan finds none.
 * Returns the members still found after `maxRounds` (0 when the tree is gone).
 */
export function killTree(
  root: TreeRoot,
  opts: { maxRounds?: number; procRoot?: string; anchored?: boolean } = {},
): number {
  const maxRounds = opts.maxRounds ?? 20;
  let left: number[] = [];
  if (opts.anchored) {
    // root is an agenttier-reaper (reaper.ts): every orphan below it is reparented to it while it lives.
    // Stop it with its group first, empty its subtree, and kill it last, so nothing is reparented out
    // of its subtree while the tree is being killed.
    signal(-root.pid, 'SIGSTOP');
    signal(root.pid, 'SIGSTOP');
    for (let round = 0; round < maxRounds; round++) {
      left = treeMembers(root, opts.procRoot).filter((pid) => pid !== root.pid);
      if (left.length === 0) break;
      for (const pid of left) signal(pid, 'SIGSTOP');
      for (const pid of left) signal(pid, 'SIGKILL');
    }
    signal(-root.pid, 'SIGKILL');
    signal(root.pid, 'SIGKILL');
    return left.length;
  }
  for (let round = 0; round < maxRounds; round++) {
    signal(-root.pid, 'SIGKILL');
    left = treeMembers(root, opts.procRoot);
    if (left.length === 0) return 0;
    for (const pid of left) signal(pid, 'SIGSTOP');
    for (const pid of left) signal(pid, 'SIGKILL');
  }
  return left.length;
}

/** oom_score_adj given to every process sandboxd starts (sandboxd keeps 0: the OOM killer picks them first). */
export const CHILD_OOM_SCORE_ADJ = 500;

/**
 * Makes `pid` a likelier OOM victim than sandboxd. An unprivileged process may raise another one's
 * score (same user) but not lower its own below 0, so this is the direction that works without
 * capabilities; what `pid` starts afterwards inherits the value.
 */
export function preferForOomKill(pid: number, procRoot = '/proc'): void {
  try {
    writeFileSync(`${procRoot}/${pid}/oom_score_adj`, String(CHILD_OOM_SCORE_ADJ));
  } catch {
    // gone already, or /proc is read-only here (gVisor): nothing else to do
  }
}
