import { readdir, readFile, readlink } from 'node:fs/promises';

import type { ListeningPort } from '../protocol.ts';

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
export function parseProcStat(
  text: string,
): { pid: number; ppid: number; pgrp: number; session: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = parseInt(text, 10);
  const rest = text.slice(close + 2).split(' ');
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const session = Number(rest[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(session)) return undefined;
  return { pid, ppid, pgrp, session };
}

async function listPids(): Promise<number[]> {
  try {
    return (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
}

/** Pids whose session id is `sid` (a PTY shell and everything it started, including its jobs). */
export async function pidsInSession(sid: number): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await listPids()) {
    try {
      const st = parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
      if (st?.session === sid) out.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export async function killSession(sid: number, signal: NodeJS.Signals): Promise<void> {
  for (const pid of await pidsInSession(sid)) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

function hexToIPv4(hex: string): string {
  // /proc/net/tcp prints the 32-bit address in host (little-endian) byte order.
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

function hexToIPv6(hex: string): string {
  const words: string[] = [];
  for (let i = 0; i < 4; i++) {
    const w = hex.slice(i * 8, i * 8 + 8);
    // each 32-bit word is little-endian
    const bytes = [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].join('');
    words.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  const groups = words.map((g) => parseInt(g, 16).toString(16));
  // v4-mapped (::ffff:a.b.c.d)
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const v4 = parseInt((words[6] ?? '') + (words[7] ?? ''), 16);
    return `::ffff:${[(v4 >>> 24) & 0xff, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff].join('.')}`;
  }
  // compress the longest run of zero groups
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const head = groups.slice(0, bestStart).join(':');
  const tail = groups.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** Parses /proc/net/tcp or /proc/net/tcp6 and returns sockets in state LISTEN (0A). */
export function parseProcNetTcp(
  text: string,
  family: 'tcp' | 'tcp6',
): Omit<ListeningPort, 'pid' | 'command'>[] {
  const out: Omit<ListeningPort, 'pid' | 'command'>[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '0A') continue;
    const [addrHex, portHex] = (f[1] ?? '').split(':');
    if (!addrHex || !portHex) continue;
    out.push({
      port: parseInt(portHex, 16),
      address: family === 'tcp' ? hexToIPv4(addrHex) : hexToIPv6(addrHex),
      family,
      inode: Number(f[9]),
    });
  }
  return out;
}

/** Maps socket inodes to the pid holding them (only processes we may inspect, i.e. our uid). */
async function socketOwners(inodes: Set<number>): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  if (inodes.size === 0) return owners;
  for (const pid of await listPids()) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(Number(m[1])) && !owners.has(Number(m[1]))) owners.set(Number(m[1]), pid);
      } catch {
        // closed meanwhile
      }
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

/** TCP ports in LISTEN state inside this network namespace, with the owning process when visible. */
export async function listListeningPorts(procRoot = '/proc'): Promise<ListeningPort[]> {
  const found: Omit<ListeningPort, 'pid' | 'command'>[] = [];
  for (const family of ['tcp', 'tcp6'] as const) {
    try {
      found.push(...parseProcNetTcp(await readFile(`${procRoot}/net/${family}`, 'utf8'), family));
    } catch {
      // no IPv6, or /proc not mounted
    }
  }
  const owners = await socketOwners(new Set(found.map((p) => p.inode).filter((i) => i > 0)));
  const result: ListeningPort[] = [];
  for (const p of found) {
    const pid = owners.get(p.inode) ?? null;
    let command: string | null = null;
    if (pid !== null) {
      // cmdline rather than comm: Node renames its main thread ("MainThread"), which says nothing.
      command = await readFile(`${procRoot}/${pid}/cmdline`, 'utf8').then(
        (s) => s.replace(/\0+$/, '').split('\0').join(' ').slice(0, 256) || null,
        () => null,
      );
    }
    result.push({ ...p, pid, command });
  }
  result.sort((a, b) => a.port - b.port || a.family.localeCompare(b.family));
  return result;
}
