/**
 * Issue 8 item 10: code in the sandbox runs as sandboxd's uid. It must not be able to ptrace sandboxd,
 * rewrite its memory through /proc/PID/mem, read its environment (the token), nor, by killing it, get a
 * moment in which sandboxd's socket is free for an impostor. Real engine, real sandboxd, the attacks
 * from inside with the image's own tools (perl, cat, kill).
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '@agenttier/testkit';
import { createDockerClient } from '@agenttier/platform-local';
import { dockerHost } from './testing/platform.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const bed = useLocalPlatform('it-tamper');
const { ns } = bed;
const q = `namespace=${ns}`;

/** sandboxd's pid as the sandbox sees it: the parent of the exec's agenttier-reaper. */
const SANDBOXD = `D=$(ps -o ppid= -p $PPID | tr -d ' ')`;

describe('sandboxd against code in its own sandbox', () => {
  it('cannot be ptraced, have its memory written or its environment read', async () => {
    await bed.createRunning('tamper', 'minimal-shell'); // and its execs served by sandboxd
    const who = String(
      (await bed.exec('tamper', ['bash', '-c', `${SANDBOXD}; echo $D; tr '\\0' ' ' < /proc/$D/cmdline`]))
        .stdout,
    );
    expect(who).toContain('sandboxd.mjs');
    expect(who).toMatch(/^\d+\n/);

    const attack = await bed.exec(
      'tamper',
      [
        SANDBOXD,
        'echo "D=$D comm=$(cat /proc/$D/comm)"',
        'echo "uid=$(id -u) sandboxd-uid=$(stat -c %u /proc/$D/status) environ-owner=$(stat -c %u /proc/$D/environ)"',
        // ptrace(PTRACE_ATTACH=16): the classic way in (then PTRACE_DETACH=17 if it worked).
        `perl -e 'my $r = syscall(101, 16, $ARGV[0] + 0, 0, 0); print "ptrace=", ($r == 0 ? "attached" : "refused:" . ($!+0)), "\\n"; syscall(101, 17, $ARGV[0] + 0, 0, 0) if $r == 0' $D`,
        // Memory: open /proc/PID/mem for writing (how an injector rewrites code).
        `perl -e 'if (open(my $f, "+<", "/proc/$ARGV[0]/mem")) { print "mem=opened\\n" } else { print "mem=refused:", ($!+0), "\\n" }' $D`,
        // The environment carries the per-start token.
        `if tr '\\0' '\\n' < /proc/$D/environ 2>/dev/null | grep -q AGENTTIER_SANDBOXD_TOKEN; then echo environ=read; else echo environ=refused; fi`,
        `ls -l /proc/$D/fd/ >/dev/null 2>&1 && echo fd=listed || echo fd=refused`,
      ].join('\n'),
    );
    const out = String(attack.stdout);
    // Same uid; but non-dumpable, its /proc entries belong to root.
    expect(out, out).toMatch(/\nuid=1000 sandboxd-uid=\d+ environ-owner=0\n/);
    expect(out, out).toMatch(/ptrace=refused:1\n/); // EPERM
    expect(out).toMatch(/mem=refused:13\n/); // EACCES
    expect(out).toContain('environ=refused');
    expect(out).toContain('fd=refused');
    // sandboxd still works.
    expect((await bed.exec('tamper', 'echo ok')).stdout).toBe('ok\n');
  }, 180_000);

  it('does not open the Node inspector on SIGUSR1 (code execution inside sandboxd)', async () => {
    const container = createDockerClient(dockerHost).getContainer(`agenttier-${ns}-tamper`);
    const logs = async (): Promise<string> =>
      (await container.logs({ stdout: true, stderr: true, follow: false })).toString('utf8');
    const before = (await bed.exec('tamper', `${SANDBOXD}; echo $D`)).stdout;
    // Node's default: SIGUSR1 starts the inspector on 127.0.0.1:9229, no authentication. Found by the
    // red team: `kill -USR1` from an exec, then Runtime.evaluate over the inspector's WebSocket ran
    // code in sandboxd (uid 1000, its listening socket, its token in memory).
    await bed.exec('tamper', `${SANDBOXD}; kill -USR1 $D`);
    // 0x240D = 9229; state 0A = LISTEN. Wait until sandboxd dealt with the signal one way or another:
    // held pending for good (--disable-sigusr1 blocks it; /proc/PID/status stays readable), logged by
    // its own listener, or (no defence) the inspector listening.
    const listening = `grep -qsi ':240D 00000000:0000 0A' /proc/net/tcp /proc/net/tcp6 && echo inspector-listening || echo none`;
    const pending = `${SANDBOXD}; p=$(awk '/^ShdPnd/ {print $2}' /proc/$D/status); [ $(( 0x$p & 0x200 )) -ne 0 ] && echo usr1-pending`;
    await eventually(
      async () => {
        const seen = (await bed.exec('tamper', `${listening}; ${pending}`)).stdout;
        return seen.includes('inspector-listening') ||
          seen.includes('usr1-pending') ||
          (await logs()).includes('SIGUSR1 ignored')
          ? true
          : undefined;
      },
      'sandboxd dealt with SIGUSR1',
      60_000,
    );
    // The attacker's next step: evaluate code through the inspector, with the sandbox's own Node.
    const probe = await bed.exec(
      'tamper',
      [
        listening,
        `/opt/agenttier/node/bin/node -e 'fetch("http://127.0.0.1:9229/json/list").then((r) => r.json()).then((l) => { const ws = new WebSocket(l[0].webSocketDebuggerUrl); ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression: "process.pid" } })); ws.onmessage = (e) => { console.log("evaluated", e.data); process.exit(0); }; }, (e) => console.log("refused", e.cause?.code ?? e.message))'`,
      ].join('\n'),
    );
    expect(probe.stdout, probe.stdout).toContain('none');
    expect(probe.stdout, probe.stdout).toContain('refused ECONNREFUSED');
    expect(probe.stdout).not.toContain('evaluated');
    // Same sandboxd, still serving.
    expect((await bed.exec('tamper', `${SANDBOXD}; echo $D`)).stdout).toBe(before);
  }, 120_000);

  it('loads no module the sandbox planted in its HOME (code execution inside sandboxd)', async () => {
    // Found by the red team: sandboxd's HOME is the workspace, Node's CommonJS lookup falls back to
    // $HOME/.node_modules and $HOME/.node_libraries, and the bundle asks for ws's optional
    // `bufferutil` / `utf-8-validate` (absent) when it serves its first WebSocket. Nothing in this
    // sandboxd has served a WebSocket yet (the cases above only exec).
    const payload =
      'require("fs").writeFileSync("/tmp/planted-ran-in-" + process.pid, process.argv.join(" "));' +
      // Working stand-ins, so a WebSocket served with them still works and only the file tells.
      ' module.exports = Object.assign((b) => require("buffer").isUtf8(b), {' +
      ' mask: (s, m, o, off, n) => { for (let i = 0; i < n; i++) o[off + i] = s[i] ^ m[i & 3]; },' +
      ' unmask: (b, m) => { for (let i = 0; i < b.length; i++) b[i] ^= m[i & 3]; } });';
    await bed.exec(
      'tamper',
      [
        'bash',
        '-c',
        [
          'P=$(cat)',
          'for m in bufferutil utf-8-validate; do',
          '  mkdir -p "$HOME/.node_modules/$m" "$HOME/.node_libraries/$m"',
          '  printf %s "$P" > "$HOME/.node_modules/$m/index.js"; printf %s "$P" > "$HOME/.node_libraries/$m/index.js"',
          '  printf %s "$P" > "$HOME/.node_libraries/$m.js"',
          'done',
        ].join('\n'),
      ],
      { stdin: payload },
    );
    const ws = new WebSocket(`${bed.base.replace('http', 'ws')}/ws/terminal/tamper?${q}&session=planted`);
    let out = '';
    ws.on('message', (m) => {
      const f = JSON.parse(m.toString()) as { type: string; data?: string };
      if (f.type === 'output') out += f.data ?? '';
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'input', data: 'echo marker-$((6*7))\n' }));
    await eventually(() => (out.includes('marker-42') ? true : undefined), 'the terminal answered', 60_000);
    ws.close();
    const seen = await bed.exec('tamper', 'ls /tmp; cat /tmp/planted-ran-in-* 2>/dev/null; true');
    expect(seen.stdout, seen.stdout).not.toContain('planted-ran-in');
  }, 120_000);

  it('killed, takes the whole container with it: nothing of the attacker is left to bind its socket', async () => {
    const container = createDockerClient(dockerHost).getContainer(`agenttier-${ns}-tamper`);
    const startedAt = (await container.inspect()).State.StartedAt;
    const bg = await bed.api('POST', `/api/v1/sandboxes/tamper/processes?${q}`, {
      command: ['bash', '-c', 'sleep 8700'],
    });
    expect(bg.status, bg.text).toBe(201);
    // Kill sandboxd, then try to take its socket. sandboxd is the init's only child, so the container
    // ends with it and the would-be impostor never gets to run.
    await bed.api('POST', `/api/v1/sandboxes/tamper/exec?${q}`, {
      command: [
        'bash',
        '-c',
        `${SANDBOXD}; (sleep 0.3; rm -f /run/agenttier/sandboxd.sock; exec perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => "/run/agenttier/sandboxd.sock", Listen => 1); sleep 600' &) ; kill -9 $D`,
      ],
    });
    await eventually(
      async () => {
        const st = (await container.inspect()).State;
        return !st.Running || st.StartedAt !== startedAt ? true : undefined;
      },
      'the container ended with sandboxd',
      60_000,
    );
    const st = (await container.inspect()).State;
    if (st.Running) {
      // Restarted: a new container (new token, new run volume) without anything of the attacker.
      const ps = await bed.exec('tamper', 'ps -eo args=');
      expect(ps.stdout).not.toContain('sleep 8700');
      expect(ps.stdout).not.toContain('IO::Socket');
    }
  }, 120_000);
});
