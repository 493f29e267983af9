/**
 * Issue 8, from inside a real sandbox (runc, and runsc when registered): code in the sandbox tries to
 * take sandboxd's place on its socket, and to read sandboxd's token (docs/security.md, "sandboxd's
 * socket and token out of the sandbox's reach"). The attacker is the sandbox's own code: commands run
 * through the router's exec (served by sandboxd, as uid 1000) and through the engine-exec fallback.
 */
import { readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { createDockerClient, EngineDataPlane, engineHostPaths } from '@agenttier/platform-local';
import { dockerHost } from './testing/platform.ts';
import { createRuntimeTemplates, probeEngine } from './testing/engine.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- REST answers are loosely typed JSON */

const docker = createDockerClient(dockerHost);
/** The engine may see its data root at a path of its own (scripts/engine.sh's own-fs layout). */
const hostPathOf = await engineHostPaths(docker);
/** runsc where the engine can run it (Podman's compatible API lists it but cannot choose a runtime). */
const { runsc } = await probeEngine();
const bed = useLocalPlatform('it-sockown', {
  // Room for the bursts below under both runtimes.
  setup: (b) => createRuntimeTemplates(b, 'sockown', { runsc, runcPids: 4096 }),
});
const { ns } = bed;

/** A Running sandbox whose execs sandboxd serves; its container, as the engine describes it. */
async function running(template: string, name: string): Promise<any> {
  await bed.createRunning(name, template);
  return docker.getContainer(`agenttier-${ns}-${name}`).inspect();
}

const SOCKET = '/run/agenttier/sandboxd.sock';

/** Every way the sandbox user could take the socket's place; prints one word per success. */
const TAKEOVER = `
d=/run/agenttier; s=$d/sandboxd.sock
rm -f $s 2>/dev/null && echo UNLINKED
mv $s $d/moved 2>/dev/null && echo RENAMED
ln -s /tmp/x $d/link 2>/dev/null && echo LINKED
touch $d/planted 2>/dev/null && echo PLANTED
chmod 0777 $d 2>/dev/null && echo CHMODDED
mkfifo $d/fifo 2>/dev/null && echo FIFO
perl -MIO::Socket::UNIX -e 'unlink $ARGV[0]; IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0], Listen => 1) or exit 1' $s 2>/dev/null && echo LISTENING
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or exit 1' $s 2>/dev/null && echo CONNECTED
echo tried
`;

/** An impostor that keeps trying to take the path for a while, logging every success. */
const IMPOSTOR = `perl -MIO::Socket::UNIX -e '
  for (1..60) {
    unlink $ARGV[0];
    if (my $l = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0], Listen => 5)) {
      open(my $f, ">>", "/tmp/impostor.log"); print $f "bound\\n"; close $f;
      while (my $c = $l->accept) { open(my $f, ">>", "/tmp/impostor.log"); print $f "request\\n"; close $f; close $c }
    }
    select(undef, undef, undef, 0.05);
  }' ${SOCKET} >/dev/null 2>&1 &`;

/** Reads everything of /proc the sandbox user can, and the places it can write, as text. */
const READ_ALL = `
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do echo "== $f"; tr '\\0' '\\n' < $f 2>/dev/null; done
echo "== /proc/1/environ: $(cat /proc/1/environ >/dev/null 2>&1 && echo readable || echo refused)"
grep -rs . /run /tmp /workspace 2>/dev/null | head -c 1000000
echo "== engine sockets: $(find / -xdev -type s 2>/dev/null | tr '\\n' ' ')"
echo "== interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')"
`;

const cases = [
  { template: 'sockown-runc', sb: 'own-runc', skip: false },
  { template: 'sockown-runsc', sb: 'own-runsc', skip: !runsc },
];

describe.each(cases)(
  'sandboxd socket and token against the sandbox ($template)',
  ({ template, sb, skip }) => {
    it.skipIf(skip)(
      'the sandbox can neither replace nor reach the socket, and reads the token nowhere',
      async () => {
        const info = await running(template, sb);
        // The router's copy is a container label: engine metadata nothing inside the container shows.
        // (Older containers had it in their environment: the test looks there too, so that it still finds
        // the token, and fails, with the launcher removed.)
        const inEnv = info.Config.Env.find((e: string) => e.startsWith('AGENTTIER_SANDBOXD_TOKEN='));
        const token = String(info.Config.Labels['agenttier.io/sandboxd-token'] ?? inEnv?.split('=')[1]);
        expect(token.length).toBeGreaterThanOrEqual(32);
        const hostRunDir = hostPathOf(
          String(info.Mounts.find((m: any) => m.Destination === '/run/agenttier')?.Source),
        );
        const before = statSync(`${hostRunDir}/sandboxd.sock`);

        expect(info.Config.Env.join('\n')).not.toContain(token);

        // 1. The directory and socket are root's (seen from the host: gVisor answers EINVAL to a stat of
        // /run from inside), and every way of taking the socket's place fails.
        expect([statSync(hostRunDir).uid, statSync(hostRunDir).mode & 0o777]).toEqual([0, 0o755]);
        expect([before.uid, before.mode & 0o777]).toEqual([0, 0o600]);
        const takeover = await bed.exec(sb, TAKEOVER);
        expect(takeover.stdout).toBe('tried\n');
        // Nor signal the engine's init, root's (under gVisor the exec's own PID namespace hides it).
        if (!template.endsWith('runsc'))
          expect((await bed.exec(sb, 'kill -0 1 2>&1; echo rc=$?')).stdout).toMatch(
            /Operation not permitted\s+rc=[1-9]\s*$/,
          );
        expect(readdirSync(hostRunDir)).toEqual(['sandboxd.sock']);

        // 2. An impostor retrying the whole time while the router opens new connections: every exec is
        // answered by sandboxd (its marker), the impostor never binds nor gets a request.
        await bed.exec(sb, IMPOSTOR);
        for (let round = 0; round < 3; round++) {
          const answers = await Promise.all(
            Array.from({ length: 12 }, () =>
              bed.api('POST', `/api/v1/sandboxes/${sb}/exec?namespace=${ns}`, {
                command: 'echo -n $AGENTTIER_PROCESS',
              }),
            ),
          );
          for (const a of answers) {
            expect(a.status, a.text).toBe(200);
            expect(a.json.stdout).toMatch(/^p-/);
          }
        }
        const log = await bed.exec(sb, 'cat /tmp/impostor.log 2>/dev/null; echo end');
        expect(log.stdout).toBe('end\n');
        const after = statSync(`${hostRunDir}/sandboxd.sock`);
        expect([after.ino, after.uid, after.mode & 0o777]).toEqual([before.ino, 0, 0o600]);
        expect(statSync(hostRunDir).uid).toBe(0);

        // 3. The token: not in any environ or cmdline the sandbox can read, nor in a file it can read;
        // the container's init (which keeps the engine's environment) is not readable at all.
        const seen = await bed.exec(sb, READ_ALL);
        // Under runc the kernel refuses the root-owned init's environ; this gVisor shows it to any uid,
        // which is why the token is in no environment at all.
        if (!template.endsWith('runsc')) expect(seen.stdout).toContain('== /proc/1/environ: refused');
        expect(seen.stdout).toContain('AGENTTIER_SANDBOX='); // the reads did work
        expect(seen.stdout).not.toContain(token);
        expect(seen.stdout).not.toContain('AGENTTIER_SANDBOXD_TOKEN=');
        // No engine to ask for the container's configuration: no engine socket, no network but loopback.
        expect(seen.stdout).toMatch(/== engine sockets: (\/run\/agenttier\/sandboxd\.sock )?\n/);
        expect(seen.stdout).toMatch(/== interfaces: lo \n/);

        // 4. The engine-exec fallback (what runs the sandbox's code when sandboxd cannot) sees no token.
        const sandbox = { metadata: { name: sb, namespace: ns } } as Sandbox;
        const viaEngine = await new EngineDataPlane(docker).exec(sandbox, {
          argv: ['sh', '-c', `${READ_ALL}; env`],
          timeoutMs: 30_000,
          maxOutputBytes: 8 << 20,
        });
        expect(viaEngine.stdout).toContain('AGENTTIER_SANDBOX=');
        expect(viaEngine.stdout).not.toContain(token);
      },
      240_000,
    );
  },
);
