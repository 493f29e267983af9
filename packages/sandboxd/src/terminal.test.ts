import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import type { TerminalConnection } from './client.ts';
import { SandboxdError } from './errors.ts';
import { startLocalSandboxd } from './local.ts';
import type { LocalSandboxd } from './local.ts';
import type { TerminalServerFrame } from './protocol.ts';

let sd: LocalSandboxd;

beforeAll(async () => {
  sd = await startLocalSandboxd({ env: { AGENTTIER_SANDBOXD_HEARTBEAT_MS: '300' } });
}, 300_000);

afterAll(async () => {
  await sd?.stop();
});

/** Collects a viewer's frames and output text as they arrive. */
function record(t: TerminalConnection): { frames: TerminalServerFrame[]; text: () => string } {
  const frames: TerminalServerFrame[] = [];
  t.on('frame', (f) => frames.push(f));
  return {
    frames,
    text: () =>
      frames
        .filter((f): f is Extract<TerminalServerFrame, { type: 'output' }> => f.type === 'output')
        .map((f) => f.data)
        .join(''),
  };
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('terminals', () => {
  it('keeps the session across disconnects and replays recent output', async () => {
    const t1 = await sd.client.terminal({ session: 'persist', cols: 80, rows: 24 });
    expect(t1.session).toBe('persist');
    expect(t1.created).toBe(true);
    const r1 = record(t1);
    t1.input('echo hello-$((6*7))\r');
    await waitFor(() => r1.text().includes('hello-42'));
    t1.input('export MARK=kept\r');
    t1.close();
    await t1.closed;

    // The daemon notices the closed viewer asynchronously: wait for it rather than race it.
    await waitFor(async () =>
      (await sd.client.listTerminals()).some((s) => s.session === 'persist' && s.viewers === 0),
    );
    const sessions = await sd.client.listTerminals();
    expect(sessions.find((s) => s.session === 'persist')).toMatchObject({ viewers: 0, persistent: true });

    const t2 = await sd.client.terminal({ session: 'persist' });
    expect(t2.created).toBe(false);
    const r2 = record(t2);
    await waitFor(() => r2.text().includes('hello-42')); // replayed
    t2.input('echo "mark=$MARK"\r');
    await waitFor(() => r2.text().includes('mark=kept')); // same shell
    t2.close();
  });

  it('fans output out to several viewers', async () => {
    const a = await sd.client.terminal({ session: 'shared' });
    const b = await sd.client.terminal({ session: 'shared' });
    const ra = record(a);
    const rb = record(b);
    b.input('echo from-$((1+1))-viewers\r');
    await waitFor(() => ra.text().includes('from-2-viewers') && rb.text().includes('from-2-viewers'));
    expect((await sd.client.listTerminals()).find((s) => s.session === 'shared')?.viewers).toBe(2);
    a.close();
    b.close();
  });

  it('resizes the pty', async () => {
    const t = await sd.client.terminal({ session: 'sizes', cols: 80, rows: 24 });
    const r = record(t);
    // Frames are handled in order, the resize synchronously: the pty has its new size before the
    // shell reads this line.
    t.resize(100, 33);
    t.input('stty size\r');
    await waitFor(() => r.text().includes('33 100'));
    t.close();
  });

  it('ignores malformed frames and answers pings', async () => {
    const t = await sd.client.terminal({ session: 'robust' });
    const r = record(t);
    for (const junk of [
      'not json',
      '{"type":"input"}',
      '{"type":"input","data":42}',
      '{"type":"resize","cols":"x"}',
      '{"type":"resize"}',
      '{"type":"nope"}',
      'null',
      '[1,2]',
      '{"type":"resize","cols":1e12,"rows":-5}',
    ]) {
      t.sendRaw(junk);
    }
    t.send({ type: 'ping' });
    await waitFor(() => r.frames.some((f) => f.type === 'pong'));
    t.input('echo still-$((2*21))\r');
    await waitFor(() => r.text().includes('still-42'));
    t.close();
  });

  it('sends heartbeats', async () => {
    const t = await sd.client.terminal({ session: 'hb' });
    const r = record(t);
    await waitFor(() => r.frames.some((f) => f.type === 'heartbeat'), 3000);
    const hb = r.frames.find((f) => f.type === 'heartbeat') as { ts: number };
    expect(Math.abs(hb.ts - Date.now())).toBeLessThan(5000);
    t.close();
  });

  it('tells viewers why the session ended', async () => {
    const t = await sd.client.terminal({ session: 'ends' });
    const r = record(t);
    t.input('exit 5\r');
    const closed = await t.closed;
    expect(closed.code).toBe(1000);
    const close = r.frames.find((f) => f.type === 'close');
    expect(close).toMatchObject({ type: 'close', reason: 'session_ended', exitCode: 5 });
    expect((await sd.client.listTerminals()).some((s) => s.session === 'ends')).toBe(false);

    const k = await sd.client.terminal({ session: 'killed' });
    const rk = record(k);
    await sd.client.killTerminal('killed');
    await k.closed;
    expect(rk.frames.find((f) => f.type === 'close')).toMatchObject({ reason: 'session_killed' });
    const e = await sd.client.killTerminal('killed').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SandboxdError);
    expect((e as SandboxdError).code).toBe('not_found');
  });

  it('attaches without creating when asked: a missing session is not_found and no shell starts', async () => {
    const before = (await sd.client.listTerminals()).length;
    const e = await sd.client
      .terminal({ session: 'never-opened', create: false })
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SandboxdError);
    expect((e as SandboxdError).code).toBe('not_found');
    const after = await sd.client.listTerminals();
    expect(after.some((s) => s.session === 'never-opened')).toBe(false);
    expect(after.length).toBe(before);

    const owner = await sd.client.terminal({ session: 'watched', cols: 80, rows: 24 });
    const watcher = await sd.client.terminal({ session: 'watched', create: false });
    expect(watcher.created).toBe(false);
    const seen = record(watcher);
    owner.input('echo watched-$((6*7))\r');
    await waitFor(() => seen.text().includes('watched-42'));
    watcher.close();
    owner.close();
    await sd.client.killTerminal('watched');
  });

  it("keeps terminals' pty masters out of every other process", async () => {
    // node-pty opens its masters without close-on-exec: a command started afterwards inherited one
    // (found by the red team: fd 24 → /dev/pts/ptmx in every exec) and could read or type into that
    // session. The patched addon makes each master close-on-exec (pty-cloexec.test.ts checks that alone),
    // and the reaper marks every descriptor it did not ask for close-on-exec too.
    const owner = await sd.client.terminal({ session: 'fd-leak', cols: 80, rows: 24 });
    const seen = record(owner);
    owner.input('echo ready-$((6*7))\r');
    await waitFor(() => seen.text().includes('ready-42'));
    const r = await sd.client.exec({
      command: 'for f in /proc/self/fd/*; do printf "%s -> %s\\n" "$f" "$(readlink "$f")"; done',
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toMatch(/ptmx|\/dev\/pts/);
    owner.input(
      'for f in /proc/self/fd/*; do printf "%s -> %s\\n" "$f" "$(readlink "$f")"; done; echo fds-done\r',
    );
    await waitFor(() => seen.text().includes('fds-done'));
    // The shell's own pty is its stdio (a /dev/pts/N slave); no master of any session reaches it.
    expect(seen.text()).not.toMatch(/ptmx/);
    owner.close();
    await sd.client.killTerminal('fd-leak');
  });

  it('ends a session without an id when its viewer leaves', async () => {
    const t = await sd.client.terminal();
    expect(t.session).toMatch(/^t-/);
    expect((await sd.client.listTerminals()).some((s) => s.session === t.session)).toBe(true);
    t.close();
    await waitFor(async () => !(await sd.client.listTerminals()).some((s) => s.session === t.session));
  });

  it('starts the requested shell and cwd, falls back to /bin/bash', async () => {
    const t = await sd.client.terminal({ session: 'sh', shell: '/bin/sh', cwd: sd.tmp });
    const r = record(t);
    t.input('echo "cwd=$(pwd) term=$TERM"\r');
    await waitFor(() => r.text().includes(`cwd=${sd.tmp} term=xterm-256color`));
    t.close();
    expect((await sd.client.listTerminals()).find((s) => s.session === 'sh')?.shell).toBe('/bin/sh');
    const f = await sd.client.terminal({ session: 'fallback', shell: '/no/such/shell' });
    f.close();
    expect((await sd.client.listTerminals()).find((s) => s.session === 'fallback')?.shell).toBe('/bin/bash');
    const bad = await sd.client.terminal({ session: 'bad id!' }).catch((err: unknown) => err);
    expect((bad as SandboxdError).code).toBe('invalid_argument');
  });

  it('speaks the reference frame protocol to a plain WebSocket client', async () => {
    const ws = new WebSocket(`ws+unix://${sd.socketPath}:/v1/pty?session=plain&cols=90&rows=30`, {
      headers: { authorization: `Bearer ${sd.token}` },
    });
    const texts: string[] = [];
    ws.on('message', (d) => texts.push(String(d)));
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.send(JSON.stringify({ type: 'input', data: 'echo raw-$((3*3))\r' }));
    await waitFor(() => texts.some((t) => t.includes('raw-9')));
    const frame = JSON.parse(texts.find((t) => t.includes('raw-9')) as string) as Record<string, unknown>;
    expect(frame).toMatchObject({ type: 'output', stream: 'stdout' });
    ws.close();
  });
});
