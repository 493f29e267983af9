import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, createWebSocketStream } from 'ws';

import { createSandboxdClient } from './client.ts';
import type { AttachEvent, ProcessAttachment, SandboxdClient } from './client.ts';
import { sandboxdErrorOf } from './testing/sandboxd-error-of.ts';
import { startLocalSandboxd } from './local.ts';
import type { LocalSandboxd } from './local.ts';
import type { WatchEvent } from './protocol.ts';

let sd: LocalSandboxd;
let c: SandboxdClient;

beforeAll(async () => {
  sd = await startLocalSandboxd({ onStart: 'echo started-$((40+2)); exit 3' });
  c = sd.client;
}, 300_000);

afterAll(async () => {
  await sd?.stop();
});

const errorOf = sandboxdErrorOf;

/** True while the pid exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Collects a watch's events as they come; `has` asks whether one of `type` on `path` has arrived. */
function collectWatch(w: AsyncIterable<WatchEvent>) {
  const events: WatchEvent[] = [];
  const done = (async () => {
    for await (const e of w) events.push(e);
  })();
  const has = (type: WatchEvent['type'], path: string): boolean =>
    events.some((e) => e.type === type && e.path === path);
  return { events, done, has };
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function collect(
  events: AsyncIterable<AttachEvent>,
): Promise<{ out: string; err: string; exit?: AttachEvent; offsets: number[] }> {
  let out = '';
  let err = '';
  let exit: AttachEvent | undefined;
  const offsets: number[] = [];
  for await (const ev of events) {
    if (ev.type === 'output') {
      offsets.push(ev.offset);
      if (ev.stream === 'stdout') out += ev.data.toString();
      else err += ev.data.toString();
    } else if (ev.type === 'exit') exit = ev;
  }
  return exit ? { out, err, exit, offsets } : { out, err, offsets };
}

describe('daemon', () => {
  it('serves /healthz without auth and rejects a wrong token', async () => {
    const bad = createSandboxdClient({ socketPath: sd.socketPath }, 'not-the-token');
    try {
      expect((await bad.health()).status).toBe('ok');
      const e = await errorOf(bad.exec({ command: 'true' }));
      expect(e.code).toBe('unauthorized');
      expect(e.status).toBe(401);
      const e2 = await errorOf(bad.terminal({ session: 'x' }));
      expect(e2.code).toBe('unauthorized');
    } finally {
      bad.close();
    }
    expect(sd.logs()).not.toContain(sd.token);
  });

  it('reports info and the start hook log', async () => {
    const info = await c.info();
    expect(info.allowedRoots).toEqual([sd.workspace, sd.tmp]);
    expect(info.ptyAvailable).toBe(true);
    await waitFor(async () => (await c.onStart()).process?.state === 'exited');
    const hook = await c.onStart();
    expect(hook.configured).toBe(true);
    expect(hook.log).toBe('started-42\n');
    expect(hook.process?.exitCode).toBe(3);
  });

  it('answers unknown routes and wrong methods with typed errors', async () => {
    const socketReq = createSandboxdClient({ socketPath: sd.socketPath }, sd.token);
    try {
      expect((await errorOf(socketReq.getProcess('nope'))).code).toBe('not_found');
    } finally {
      socketReq.close();
    }
  });
});

describe('exec', () => {
  it('returns exit codes, stdout and stderr', async () => {
    const r = await c.exec({ command: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    expect(r).toMatchObject({
      stdout: 'out\n',
      stderr: 'err\n',
      exitCode: 7,
      signal: null,
      timedOut: false,
      truncated: false,
    });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    const s = await c.exec({ command: 'echo "$FOO" "$(pwd)"', env: { FOO: 'bar' }, cwd: sd.tmp });
    expect(s.stdout).toBe(`bar ${sd.tmp}\n`);
  });

  it('feeds stdin (utf8 and base64)', async () => {
    expect((await c.exec({ command: ['cat'], stdin: 'héllo' })).stdout).toBe('héllo');
    const bin = Buffer.from([0, 1, 2, 255]);
    const r = await c.exec({
      command: ['cat'],
      stdin: bin.toString('base64'),
      stdinEncoding: 'base64',
      outputEncoding: 'base64',
    });
    expect(Buffer.from(r.stdout, 'base64')).toEqual(bin);
    expect((await c.exec({ command: ['cat'] })).stdout).toBe(''); // no stdin → /dev/null, no hang
  });

  it('reports signals and commands that cannot run', async () => {
    const r = await c.exec({ command: 'kill -TERM $$' });
    expect(r.exitCode).toBe(143);
    expect(r.signal).toBe('SIGTERM');
    const nf = await c.exec({ command: ['/no/such/binary', 'x'] });
    expect(nf.exitCode).toBe(127);
    expect(nf.stderr).toContain('ENOENT');
    expect((await errorOf(c.exec({ command: 'true', cwd: '/no/such/dir' }))).code).toBe('not_found');
    expect((await errorOf(c.exec({ command: [] }))).code).toBe('invalid_argument');
    expect((await errorOf(c.exec({ command: 'true', cwd: 'relative' }))).code).toBe('invalid_argument');
    // One argument over the kernel's MAX_ARG_STRLEN: execve says E2BIG, the caller's fault (413, not 500).
    const big = await errorOf(c.exec({ command: ['echo', 'x'.repeat(200_000)] }));
    expect(big.code).toBe('too_large');
    expect(big.message).toMatch(/131071 bytes.*stdin/);
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = join(sd.tmp, 'grandchild.pid');
    const r = await c.exec({ command: `sleep 300 & echo $! > ${pidFile}; wait`, timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(-1);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor(() => !alive(pid));
  });

  it('SIGKILLs a group that ignores SIGTERM after the grace period', async () => {
    const pidFile = join(sd.tmp, 'stubborn.pid');
    const started = Date.now();
    const r = await c.exec({
      command: `trap '' TERM; sh -c 'trap "" TERM; sleep 300' & echo $! > ${pidFile}; wait`,
      timeoutMs: 200,
      killGraceMs: 300,
    });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor(() => !alive(pid));
  });

  it('runs 100 concurrent execs with the right outputs', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => c.exec({ command: ['sh', '-c', `echo n=$0`, String(i)] })),
    );
    results.forEach((r, i) => {
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(`n=${i}\n`);
    });
  });

  it('truncates output past the cap with a marker', async () => {
    const r = await c.exec({
      command: 'head -c 100000 /dev/zero | tr "\\0" a; echo done >&2',
      maxOutputBytes: 1000,
    });
    expect(r.truncated).toBe(true);
    expect(r.stdout).toBe('a'.repeat(1000) + '\n[output truncated]');
    expect(r.stderr).toBe('done\n');
    const big = await c.exec({ command: 'head -c 9437184 /dev/zero | tr "\\0" b' });
    expect(big.truncated).toBe(true);
    expect(big.stdout.length).toBe(8 * 1024 * 1024 + '\n[output truncated]'.length);
  });

  it('does not wait for background descendants holding the pipes', async () => {
    const started = Date.now();
    const r = await c.exec({ command: 'sleep 5 & echo started' });
    expect(r.stdout).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('kills the command when the caller aborts', async () => {
    const pidFile = join(sd.tmp, 'aborted.pid');
    const ctl = new AbortController();
    const p = c.exec({ command: `echo $$ > ${pidFile}; exec sleep 300` }, { signal: ctl.signal });
    await waitFor(async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() !== '');
    ctl.abort();
    await expect(p).rejects.toThrow(/abort/i);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor(() => !alive(pid));
  });
});

describe('process trees', () => {
  /** A shell line that starts `sleep 1000` in a way that leaves the exec's tree, writing its pid to `file`. */
  const escapees = (dir: string) => ({
    setsid: `setsid sh -c 'echo $$ > ${dir}/setsid.pid; exec sleep 1000' &`,
    subshell: `(sh -c 'echo $$ > ${dir}/subshell.pid; exec sleep 1000' &)`,
    // new session, then its parent exits: only the environment marker still ties it to the exec
    orphan: `(setsid sh -c 'echo $$ > ${dir}/orphan.pid; exec sleep 1000' &)`,
  });
  const pidsIn = async (dir: string, names: string[]) => {
    const pids: number[] = [];
    for (const n of names) {
      await waitFor(
        async () => (await readFile(join(dir, `${n}.pid`), 'utf8').catch(() => '')).trim() !== '',
      );
      pids.push(Number(await readFile(join(dir, `${n}.pid`), 'utf8')));
    }
    return pids;
  };

  it('kills everything an exec started when it ends, even what left its session', async () => {
    const dir = join(sd.tmp, 'tree-end');
    await mkdir(dir, { recursive: true });
    const e = escapees(dir);
    const r = await c.exec({
      command: `${e.setsid} ${e.subshell}; ${e.orphan}; for f in setsid subshell orphan; do while [ ! -s ${dir}/$f.pid ]; do sleep 0.01; done; done; echo started`,
    });
    expect(r.stdout).toBe('started\n');
    const pids = await pidsIn(dir, ['setsid', 'subshell', 'orphan']);
    // The exec answered only after the tree was killed: nothing to wait for.
    expect(pids.filter(alive)).toEqual([]);
  });

  it('kills the tree of an exec that times out', async () => {
    const dir = join(sd.tmp, 'tree-timeout');
    await mkdir(dir, { recursive: true });
    const e = escapees(dir);
    const r = await c.exec({ command: `${e.setsid} ${e.orphan}; sleep 1000`, timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    const pids = await pidsIn(dir, ['setsid', 'orphan']);
    await waitFor(() => pids.every((p) => !alive(p)));
  });

  it('kills the tree of a streaming exec (killOnDetach) when its leader exits', async () => {
    const dir = join(sd.tmp, 'tree-stream');
    await mkdir(dir, { recursive: true });
    const e = escapees(dir);
    const p = await c.startProcess({
      command: `${e.orphan}; while [ ! -s ${dir}/orphan.pid ]; do sleep 0.01; done`,
      killOnDetach: true,
    });
    const att = await c.attach(p.id);
    for await (const ev of att) if (ev.type === 'exit') break;
    const [pid] = await pidsIn(dir, ['orphan']);
    await waitFor(() => !alive(pid!));
  });

  it('kills the tree of a background process when it is killed, not when its leader exits', async () => {
    const dir = join(sd.tmp, 'tree-bg');
    await mkdir(dir, { recursive: true });
    const e = escapees(dir);
    const p = await c.startProcess({ command: `${e.orphan}; sleep 1000` });
    const [pid] = await pidsIn(dir, ['orphan']);
    expect(alive(pid!)).toBe(true);
    await c.killProcess(p.id);
    await waitFor(() => !alive(pid!));

    // An onStart-style script that starts a server and exits keeps its server.
    const dir2 = join(sd.tmp, 'tree-bg-keep');
    await mkdir(dir2, { recursive: true });
    const hook = await c.startProcess({ command: escapees(dir2).setsid });
    const [server] = await pidsIn(dir2, ['setsid']);
    await waitFor(async () => (await c.listProcesses()).find((x) => x.id === hook.id)?.state === 'exited');
    expect(alive(server!)).toBe(true);
    process.kill(server!, 'SIGKILL');
  });
});

describe('background processes', () => {
  it('streams output with offsets and replays from an offset', async () => {
    const p = await c.startProcess({
      command: 'for i in 1 2 3; do echo line$i; sleep 0.05; done; echo oops >&2; exit 4',
      name: 'lines',
    });
    expect(p.state).toBe('running');
    expect(p.name).toBe('lines');
    const att = await c.attach(p.id);
    const got = await collect(att);
    expect(got.out).toBe('line1\nline2\nline3\n');
    expect(got.err).toBe('oops\n');
    expect(got.exit).toMatchObject({ type: 'exit', exitCode: 4, timedOut: false });
    expect(got.offsets[0]).toBe(0);

    // Re-attach after exit from offset 6: the buffer still has it.
    const again = await c.attach(p.id, { fromOffset: 6 });
    expect(again.process.state).toBe('exited');
    expect(again.fromOffset).toBe(6);
    const rest = await collect(again);
    expect(rest.out).toBe('line2\nline3\n');
    expect(rest.exit).toMatchObject({ exitCode: 4 });
    const info = await c.getProcess(p.id);
    expect(info).toMatchObject({ state: 'exited', exitCode: 4, outputBytes: 23 });
    expect((await c.listProcesses()).some((x) => x.id === p.id)).toBe(true);
  });

  it('accepts stdin over the attachment and over HTTP', async () => {
    const p = await c.startProcess({ command: ['cat'] });
    const att = await c.attach(p.id);
    const outputs: string[] = [];
    att.on('output', (e) => outputs.push(e.data.toString()));
    att.writeStdin('hello\n');
    await waitFor(() => outputs.join('') === 'hello\n');
    await c.writeStdin(p.id, 'via http\n', { close: true });
    const exit = await att.exit;
    expect(exit).toMatchObject({ exitCode: 0 });
    expect(outputs.join('')).toBe('hello\nvia http\n');
  });

  it('delivers signals to the process group', async () => {
    const p = await c.startProcess({ command: ['sleep', '300'] });
    const att = await c.attach(p.id);
    await c.signalProcess(p.id, 'INT');
    expect(await att.exit).toMatchObject({ exitCode: 130, signal: 'SIGINT' });
    expect((await errorOf(c.signalProcess(p.id, 'SIGNOPE'))).code).toBe('invalid_argument');
  });

  it('keeps running when a viewer detaches, unless killOnDetach', async () => {
    // The process says TERM when signalled and echoes its stdin. sandboxd decides on a kill in the
    // same step that counts the detach: once `attachments` has dropped, any signal is already pending,
    // and the shell runs its trap before it reads the next line. So an echo without TERM shows that
    // no kill was sent, without waiting for a process that may or may not die.
    const echoing = ['sh', '-c', 'trap "echo TERM; exit 1" TERM; while read l; do echo "$l"; done'];
    const stillRunning = async (id: string, attachments: number, viewer: ProcessAttachment) => {
      const outputs: string[] = [];
      viewer.on('output', (e) => outputs.push(e.data.toString()));
      await waitFor(async () => (await c.getProcess(id)).attachments === attachments);
      await c.writeStdin(id, 'still here\n');
      await waitFor(() => outputs.join('').includes('still here\n'));
      expect(outputs.join('')).not.toContain('TERM');
      expect((await c.getProcess(id)).state).toBe('running');
    };

    const p = await c.startProcess({ command: echoing });
    const a1 = await c.attach(p.id);
    a1.close();
    await waitFor(async () => (await c.getProcess(p.id)).attachments === 0);
    const a2 = await c.attach(p.id, { killOnDetach: true });
    await stillRunning(p.id, 1, a2);
    a2.close();
    await waitFor(async () => (await c.getProcess(p.id)).state === 'exited');
    expect(alive(p.pid as number)).toBe(false);

    const q = await c.startProcess({ command: echoing, killOnDetach: true });
    const b1 = await c.attach(q.id);
    const b2 = await c.attach(q.id);
    b1.close();
    await stillRunning(q.id, 1, b2);
    b2.close(); // the last one
    await waitFor(async () => (await c.getProcess(q.id)).state === 'exited');
  });

  it('kills and forgets processes', async () => {
    const p = await c.startProcess({ command: 'trap "" TERM; sleep 300' });
    const killed = await c.killProcess(p.id, { graceMs: 100 });
    expect(killed.id).toBe(p.id);
    await waitFor(async () => (await c.getProcess(p.id)).state === 'exited');
    await c.removeProcess(p.id);
    expect((await errorOf(c.getProcess(p.id))).code).toBe('not_found');
  });

  it('drops the oldest output beyond the replay buffer', async () => {
    const p = await c.startProcess({ command: 'head -c 3000000 /dev/zero | tr "\\0" x', openStdin: false });
    await waitFor(async () => (await c.getProcess(p.id)).state === 'exited');
    const att = await c.attach(p.id, { fromOffset: 0 });
    expect(att.droppedBytes).toBeGreaterThan(0);
    const got = await collect(att);
    expect(att.fromOffset + got.out.length).toBe(3_000_000);
    expect(got.out.length).toBeLessThanOrEqual(1 << 20);
  });
});

describe('tcp listener (Kubernetes mode)', () => {
  it('serves the same API on host:port', async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const tcp = await startLocalSandboxd({ listen: `127.0.0.1:${port}` }); // socket + TCP
    const client = createSandboxdClient({ host: '127.0.0.1', port }, tcp.token);
    try {
      expect((await client.exec({ command: ['echo', 'over tcp'] })).stdout).toBe('over tcp\n');
      const t = await client.terminal({ session: 'tcp' });
      t.close();
      const bad = createSandboxdClient({ host: '127.0.0.1', port }, 'wrong-token-wrong-token');
      expect((await errorOf(bad.listProcesses())).code).toBe('unauthorized');
      bad.close();
    } finally {
      client.close();
      await tcp.stop();
    }
    const gone = createSandboxdClient({ host: '127.0.0.1', port }, tcp.token);
    const e = await errorOf(gone.health());
    expect([e.code, e.status, e.details?.errno]).toEqual(['unreachable', 503, 'ECONNREFUSED']);
    gone.close();
  });
});

describe('limits', () => {
  it('refuses processes beyond the limit with a clear error, then recovers', async () => {
    const small = await startLocalSandboxd({ env: { AGENTTIER_SANDBOXD_MAX_PROCESSES: '3' } });
    try {
      const ps = await Promise.all(
        [1, 2, 3].map(() => small.client.startProcess({ command: ['sleep', '300'] })),
      );
      const e = await errorOf(small.client.exec({ command: 'true' }));
      expect(e.code).toBe('too_many_processes');
      expect(e.status).toBe(429);
      expect(e.retryable).toBe(true);
      await small.client.killProcess(ps[0]?.id as string);
      await waitFor(
        async () => (await small.client.exec({ command: 'echo ok' }).catch(() => null))?.stdout === 'ok\n',
      );
    } finally {
      await small.stop();
    }
  });
});

describe('files', () => {
  it('writes, reads, stats and lists', async () => {
    const path = join(sd.workspace, 'a/b/c.txt');
    expect(await c.files.write(path, 'hello files')).toEqual({ path, bytes: 11 });
    expect((await c.files.readBuffer(path)).toString()).toBe('hello files');
    const st = await c.files.stat(path);
    expect(st).toMatchObject({ name: 'c.txt', path, isDir: false, isFile: true, size: 11, isSymlink: false });
    expect(st.modeString).toMatch(/^-rw-/);
    expect(new Date(st.modifiedAt).toISOString()).toBe(st.modifiedAt);
    const list = await c.files.list(join(sd.workspace, 'a'));
    expect(list.entries.map((e) => [e.name, e.isDir])).toEqual([['b', true]]);
    expect(await c.files.read(path, { offset: 6, length: 3 }).then((r) => r.size)).toBe(3);
  });

  it('streams large bodies both ways and writes atomically', async () => {
    const path = join(sd.workspace, 'big.bin');
    const chunk = Buffer.alloc(1 << 20, 7);
    async function* gen(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 5; i++) yield chunk;
    }
    expect((await c.files.write(path, Readable.from(gen()))).bytes).toBe(5 << 20);
    const { size, stream } = await c.files.read(path);
    expect(size).toBe(5 << 20);
    let n = 0;
    for await (const d of stream as AsyncIterable<Buffer>) n += d.length;
    expect(n).toBe(5 << 20);
    expect((await readdir(sd.workspace)).filter((f) => f.includes('.tmp'))).toEqual([]);

    // An upload that fails midway leaves neither a partial target nor a temp file.
    async function* broken(): AsyncGenerator<Buffer> {
      yield chunk;
      throw new Error('client went away');
    }
    await c.files.write(join(sd.workspace, 'partial.bin'), Readable.from(broken())).catch(() => undefined);
    await waitFor(
      async () => (await readdir(sd.workspace)).filter((f) => f.includes('partial')).length === 0,
    );
  });

  it('sets modes, makes directories, renames and removes', async () => {
    const script = join(sd.workspace, 'bin/run.sh');
    await c.files.write(script, '#!/bin/sh\necho ran\n', { mode: '755' });
    expect((await c.files.stat(script)).mode).toBe(0o755);
    expect((await c.exec({ command: [script] })).stdout).toBe('ran\n');

    const dir = join(sd.workspace, 'm/n');
    expect((await c.files.mkdir(dir)).isDir).toBe(true);
    expect((await c.files.mkdir(dir)).isDir).toBe(true); // parents: idempotent
    expect((await errorOf(c.files.mkdir(dir, { parents: false }))).code).toBe('exists');

    await c.files.write(join(dir, 'f'), 'x');
    expect((await errorOf(c.files.remove(join(sd.workspace, 'm')))).code).toBe('not_empty');
    const moved = await c.files.rename(join(dir, 'f'), join(sd.tmp, 'moved/f'));
    expect(moved.path).toBe(join(sd.tmp, 'moved/f'));
    await c.files.write(join(dir, 'g'), 'y');
    expect((await errorOf(c.files.rename(join(dir, 'g'), join(sd.tmp, 'moved/f')))).code).toBe('exists');
    await c.files.rename(join(dir, 'g'), join(sd.tmp, 'moved/f'), { overwrite: true });
    expect((await c.files.readBuffer(join(sd.tmp, 'moved/f'))).toString()).toBe('y');
    await c.files.remove(join(sd.workspace, 'm'), { recursive: true });
    expect((await errorOf(c.files.stat(join(sd.workspace, 'm')))).code).toBe('not_found');
    expect((await errorOf(c.files.remove(sd.workspace, { recursive: true }))).code).toBe('invalid_argument');
  });

  it('returns distinct error codes', async () => {
    const f = join(sd.workspace, 'plain.txt');
    await c.files.write(f, '0123456789');
    await c.files.mkdir(join(sd.workspace, 'adir'));
    const cases: [() => Promise<unknown>, string, number][] = [
      [() => c.files.readBuffer(join(sd.workspace, 'missing')), 'not_found', 404],
      [() => c.files.list(f), 'not_a_directory', 400],
      [() => c.files.readBuffer(sd.workspace), 'is_a_directory', 400],
      [() => c.files.write(join(sd.workspace, 'adir'), 'x'), 'is_a_directory', 400],
      [() => c.files.readBuffer('/etc/passwd'), 'outside_allowed_roots', 403],
      [() => c.files.readBuffer(`${sd.workspace}/../token`), 'outside_allowed_roots', 403],
      [() => c.files.readBuffer('relative/path'), 'invalid_path', 400],
      [() => c.files.readBuffer(`${sd.workspace}/x\0y`), 'invalid_path', 400],
      [() => c.files.readBuffer(f, { maxBytes: 5 }), 'too_large', 413],
      [() => c.files.write(f, 'new', { overwrite: false }), 'exists', 409],
      [() => c.files.write(join(sd.workspace, 'nodir/x'), 'x', { mkdirs: false }), 'not_found', 404],
    ];
    for (const [fn, code, status] of cases) {
      const e = await errorOf(fn());
      expect([e.code, e.status]).toEqual([code, status]);
    }
  });

  it('does not follow symlinks out of the allowed roots', async () => {
    await symlink('/etc', join(sd.workspace, 'etc-link'));
    await symlink(join(sd.dir, 'token'), join(sd.workspace, 'token-link'));
    await symlink(join(sd.dir, 'nowhere'), join(sd.workspace, 'dangling'));
    for (const fn of [
      () => c.files.readBuffer(join(sd.workspace, 'etc-link/passwd')),
      () => c.files.list(join(sd.workspace, 'etc-link')),
      () => c.files.readBuffer(join(sd.workspace, 'token-link')),
      () => c.files.write(join(sd.workspace, 'token-link'), 'overwrite!'),
      () => c.files.write(join(sd.workspace, 'dangling/x'), 'x'),
      () => c.files.mkdir(join(sd.workspace, 'dangling/sub')),
      () => c.files.rename(join(sd.workspace, 'etc-link/hosts'), join(sd.workspace, 'stolen')),
    ]) {
      expect((await errorOf(fn())).code).toBe('outside_allowed_roots');
    }
    expect(await readFile(join(sd.dir, 'token'), 'utf8')).toBe(sd.token);
    // The link itself can be inspected and removed.
    const st = await c.files.stat(join(sd.workspace, 'token-link'));
    expect(st.isSymlink).toBe(true);
    expect(st.symlinkTarget).toBe(join(sd.dir, 'token'));
    await c.files.remove(join(sd.workspace, 'token-link'));
    expect(await readFile(join(sd.dir, 'token'), 'utf8')).toBe(sd.token);
  });

  it('watches a directory', async () => {
    const dir = join(sd.workspace, 'watched');
    await mkdir(join(dir, 'sub'), { recursive: true });
    // watch() resolves on the daemon's answer, which it sends once the directory tree is watched.
    const w = await c.files.watch(dir);
    const { done, has } = collectWatch(w);
    await writeFile(join(dir, 'new.txt'), 'a');
    // The created event ends its batch: the next write is a change of a file that exists, 'modified'.
    await waitFor(() => has('created', join(dir, 'new.txt')));
    await writeFile(join(dir, 'new.txt'), 'ab');
    await waitFor(() => has('modified', join(dir, 'new.txt')));
    await writeFile(join(dir, 'sub/deep.txt'), 'x');
    await waitFor(() => has('created', join(dir, 'sub/deep.txt')));
    await c.files.remove(join(dir, 'new.txt'));
    await waitFor(() => has('deleted', join(dir, 'new.txt')));
    w.close();
    await done;
    expect((await errorOf(c.files.watch(join(dir, 'nope')))).code).toBe('not_found');
  });

  it('keeps reporting changes to a file after PUT replaced it by rename, in nested dirs made later too', async () => {
    const dir = join(sd.workspace, 'watched-put');
    await mkdir(dir);
    const w = await c.files.watch(dir);
    const { events, done, has } = collectWatch(w);
    // A directory made after the watch started, a file in it written by the API (temp file + rename).
    await mkdir(join(dir, 'later/deeper'), { recursive: true });
    const file = join(dir, 'later/deeper/f.txt');
    await waitFor(() => has('created', join(dir, 'later/deeper')));
    await c.files.write(file, 'one\n');
    await waitFor(() => has('created', file));
    // What `echo >> file` in the sandbox does: append to the inode the rename put in place.
    for (const n of [1, 2]) {
      events.length = 0;
      const r = await c.exec({ command: `echo more >> ${file}` });
      expect(r.exitCode).toBe(0);
      await waitFor(() => has('modified', file));
      events.length = 0;
      await c.files.write(file, `rewritten ${n}\n`);
      await waitFor(() => has('created', file)); // the rename put a new inode under the name
    }
    // A directory renamed within the tree is watched under its new name (once its events arrived:
    // what is inside a directory that appears is reported as created after its watch is armed).
    const movedFile = join(dir, 'moved/deeper/f.txt');
    await c.files.rename(join(dir, 'later'), join(dir, 'moved'));
    await waitFor(() => has('created', movedFile));
    expect(has('deleted', join(dir, 'later/later'))).toBe(false);
    events.length = 0;
    await c.exec({ command: `echo again >> ${movedFile}` });
    await waitFor(() => has('modified', movedFile));
    w.close();
    await done;
  });

  it('watches over a WebSocket too', async () => {
    const dir = join(sd.workspace, 'watched-ws');
    await mkdir(dir);
    const ws = new WebSocket(`ws+unix://${sd.socketPath}:/v1/files/watch?path=${encodeURIComponent(dir)}`, {
      headers: { authorization: `Bearer ${sd.token}` },
    });
    const events: WatchEvent[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d)) as WatchEvent));
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    await writeFile(join(dir, 'x'), '1');
    await waitFor(() => events.some((e) => e.type === 'created' && e.path === join(dir, 'x')));
    ws.close();
  });
});

describe('ports', () => {
  let http: Server;
  let port: number;

  beforeAll(async () => {
    http = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => res.end(`you said ${req.method} ${req.url} ${body}`));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
  });

  afterAll(() => {
    http?.close();
  });

  it('tunnels TCP to a local HTTP server', async () => {
    const sock = await c.tcpTunnel(port);
    sock.write(`POST /hi HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping`);
    let resp = '';
    for await (const d of sock as AsyncIterable<Buffer>) resp += d.toString();
    expect(resp).toMatch(/^HTTP\/1.1 200 OK/);
    expect(resp).toContain('you said POST /hi ping');
  });

  it('pipes large payloads both ways with half-close', async () => {
    const echo = createNetServer({ allowHalfOpen: true }, (s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    try {
      const sock = await c.tcpTunnel((echo.address() as AddressInfo).port);
      const payload = Buffer.alloc(4 << 20, 'z');
      sock.end(payload);
      let n = 0;
      for await (const d of sock as AsyncIterable<Buffer>) n += d.length;
      expect(n).toBe(payload.length);
    } finally {
      echo.close();
    }
  });

  it('fails cleanly for a closed port', async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const e = await errorOf(c.tcpTunnel(closed));
    expect(e.code).toBe('connect_failed');
    expect(e.status).toBe(502);
  });

  it('tunnels over a WebSocket with binary frames', async () => {
    const ws = new WebSocket(`ws+unix://${sd.socketPath}:/v1/tcp/${port}`, {
      headers: { authorization: `Bearer ${sd.token}` },
    });
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    const stream = createWebSocketStream(ws);
    stream.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let resp = '';
    for await (const d of stream as AsyncIterable<Buffer>) resp += d.toString();
    expect(resp).toContain('you said GET /ws');
  });

  it('lists listening ports', async () => {
    const ports = await c.listPorts();
    const mine = ports.find((p) => p.port === port && p.address === '127.0.0.1');
    expect(mine).toMatchObject({ family: 'tcp', pid: process.pid });
  });
});
