/**
 * Issue 8, the red team's pty finding and its neighbours, as a hostile sandbox would try them, under
 * runc and under gVisor (runsc, when the engine has it): a command must hold none of sandboxd's
 * descriptors (another terminal's pty master, sandboxd's listening socket, its pipes), and sandboxd's
 * standby reapers, which wait for someone else's command, must not be ptraced, have their memory
 * opened or their environment read by the sandbox user. Real engine, real sandboxd, terminals through
 * the router; the attacks with the image's own tools (bash, perl, ps).
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { createDockerClient } from '@agenttier/platform-local';
import { createRuntimeTemplates, probeEngine } from './testing/engine.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';
import { dockerHost } from './testing/platform.ts';
import { openTerminal as openRouterTerminal } from './testing/terminal.ts';

const { runsc } = await probeEngine();
const bed = useLocalPlatform('it-fds', {
  setup: (b) => createRuntimeTemplates(b, 'fds', { runsc, runcPids: 256 }),
});

/** A terminal through the router, in this file's namespace. */
const openTerminal = (sb: string, session: string) =>
  openRouterTerminal(bed.base, `/ws/terminal/${sb}?${bed.q}&session=${session}`);

/**
 * One line per descriptor a process started from here holds: `fd N -> target` (perl, a child of the
 * shell, so it inherits what the shell holds; its own directory handle is left out). Not the shell's
 * /proc/$$: in gVisor's PID-namespace mode $$ names another process in the container's /proc.
 */
const LIST_FDS = `perl -e 'my $self = readlink("/proc/self"); opendir(my $d, "/proc/self/fd") or die; for my $f (sort { $a <=> $b } grep { /^\\d+$/ } readdir $d) { my $l = readlink("/proc/self/fd/$f"); print "fd $f -> $l\\n" if defined $l && $l ne "/proc/$self/fd" }'`;

/** Parsed {@link LIST_FDS} lines. */
function descriptors(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of text.matchAll(/^fd (\d+) -> (.*?)\r?$/gm)) out.set(Number(m[1]), m[2] ?? '');
  return out;
}

/**
 * From an exec: every standby reaper (an agenttier-reaper with --command-fd, and its waiting child)
 * and this exec's own reaper, attacked three ways each: ptrace(PTRACE_ATTACH), /proc/PID/mem opened
 * for writing, /proc/PID/environ opened for reading. Prints `PID attach=… mem=… environ=…`.
 */
const ATTACK_REAPERS = [
  'read -r _ _ _ reaper _ </proc/self/stat',
  // From /proc/*/cmdline, not ps: procps cannot always resolve /proc/self in gVisor's nested PID namespaces.
  `targets="$(perl -e 'for my $c (glob("/proc/[0-9]*/cmdline")) { open(my $h, "<", $c) or next; my $a = do { local $/; <$h> } // ""; print "$1\\n" if $a =~ /agenttier-reaper\\0.*--command-fd\\0/s && $c =~ m{^/proc/(\\d+)/} }') $reaper"`,
  'for p in $targets; do',
  `  perl -e 'my $p = $ARGV[0] + 0; my $r = syscall(101, 16, $p, 0, 0); my $a = $r == 0 ? "attached" : "refused:" . ($!+0); syscall(101, 17, $p, 0, 0) if $r == 0;`,
  `    my $m = open(my $f, "+<", "/proc/$p/mem") ? "opened" : "refused:" . ($!+0);`,
  `    my $e = open(my $g, "<", "/proc/$p/environ") ? "opened" : "refused:" . ($!+0);`,
  `    print "reaper $p attach=$a mem=$m environ=$e\\n"' $p`,
  'done',
].join('\n');

/** Makes a Running sandbox whose execs sandboxd serves under agenttier-reaper. */
async function runningSandbox(template: string, name: string): Promise<void> {
  await bed.createRunning(name, template);
  // The parent from /proc/self/stat, not $PPID: in a PID namespace (gVisor) $PPID is the namespace's 1.
  const parent = await bed.exec(name, [
    'bash',
    '-c',
    'read -r _ _ _ pp _ </proc/self/stat; cat /proc/$pp/comm',
  ]);
  expect(String(parent.stdout).trim(), 'execs run under agenttier-reaper').toBe('agenttier-reape');
}

const cases = [
  { template: 'fds-runc', sb: 'fds-runc', skip: false, gvisor: false },
  { template: 'fds-runsc', sb: 'fds-runsc', skip: !runsc, gvisor: true },
];

describe.each(cases)(
  "sandboxd's descriptors and standbys against the sandbox ($template)",
  ({ template, sb, skip, gvisor }) => {
    it.skipIf(skip)(
      'no command holds a descriptor of sandboxd or of another session; no standby reaper can be ptraced or read',
      async () => {
        await runningSandbox(template, sb);
        const container = createDockerClient(dockerHost).getContainer(`agenttier-${bed.ns}-${sb}`);
        const startedAt = (await container.inspect()).State.StartedAt;

        // A terminal is open (its master is in sandboxd), and a second one (its master too).
        const owner = await openTerminal(sb, 'owner');
        owner.type('echo owner-$((6*7))\r');
        await owner.waitFor(/owner-42/, 'the owner terminal answering');
        const other = await openTerminal(sb, 'other');
        other.type('echo other-$((6*7))\r');
        await other.waitFor(/other-42/, 'the second terminal answering');

        // 1. An exec: nothing but its stdin, stdout and stderr. With a leaked master it types into the
        //    owner's terminal (the attack the red team ran), which the owner's next line shows.
        const exec = await bed.exec(
          sb,
          `${LIST_FDS}\nfor f in /proc/self/fd/*; do n=\${f##*/}; [ "$n" -gt 2 ] 2>/dev/null && printf 'echo pwned-from-$n-$((3*3))\\r' >&$n 2>/dev/null; done; true`,
        );
        const execFds = descriptors(String(exec.stdout));
        expect([...execFds.keys()], String(exec.stdout)).toEqual([0, 1, 2]);

        // 2. A background process: the same (it writes its list to a file an exec then reads).
        const bg = await bed.api('POST', `/api/v1/sandboxes/${sb}/processes?${bed.q}`, {
          command: ['bash', '-c', `exec >/tmp/bg-fds.txt; ${LIST_FDS}; echo listed`],
        });
        expect(bg.status, bg.text).toBe(201);
        const bgOut = await eventually(
          async () => {
            const r = await bed.exec(sb, 'cat /tmp/bg-fds.txt 2>/dev/null; true');
            return String(r.stdout).includes('listed') ? String(r.stdout) : undefined;
          },
          'the background process listed its descriptors',
          60_000,
        );
        expect([...descriptors(bgOut).keys()], bgOut).toEqual([0, 1, 2]);

        // 3. What the second terminal's shell starts: its own pty slave only.
        other.type(`${LIST_FDS}; echo fds-$((2+3))-done\r`);
        await other.waitFor(/fds-5-done/, 'the second terminal listed its descriptors');
        const termFds = descriptors(other.output());
        expect([...termFds.keys()], other.output()).toEqual([0, 1, 2]);
        for (const target of termFds.values()) expect(target).toMatch(/^\/dev\/pts\/\d+$/);

        // Nothing was typed into the owner's terminal: its next line comes with nothing before it.
        owner.type('echo after-$((2*2))\r');
        await owner.waitFor(/after-4/, 'the owner terminal answering again');
        expect(owner.output()).not.toContain('pwned-from');

        // 4. The standby reapers (and this exec's own reaper) refuse ptrace, /proc/PID/mem and environ.
        const attacked = String((await bed.exec(sb, ATTACK_REAPERS)).stdout);
        const lines = attacked.split('\n').filter((l) => l.startsWith('reaper '));
        // An exec standby and a terminal standby, each a reaper and its waiting child, and our reaper.
        expect(lines.length, attacked).toBeGreaterThanOrEqual(5);
        // gVisor (runsc 2022-12) does not check access to /proc/PID/environ at all (docs/gvisor.md): a
        // standby's environment is empty, an exec's reaper's is its command's, readable there anyway.
        const refused = gvisor
          ? /attach=refused:\d+ mem=refused:\d+ environ=\S+$/
          : /attach=refused:\d+ mem=refused:\d+ environ=refused:\d+$/;
        for (const line of lines) expect(line).toMatch(refused);

        // The sandbox is the same one, and serves.
        owner.ws.close();
        other.ws.close();
        expect((await bed.exec(sb, 'echo ok')).stdout).toBe('ok\n');
        const st = (await container.inspect()).State;
        expect(st.Running).toBe(true);
        expect(st.StartedAt).toBe(startedAt);
      },
      240_000,
    );
  },
);
