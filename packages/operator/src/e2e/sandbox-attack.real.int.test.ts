// Code in a real sandbox pod (scripts/kube-node.sh: containerd, runc, the kubelet) attacking its own
// sandboxd as the sandbox user, through the router's exec like any caller's command (issue 8 item 10
// on Kubernetes; docs/security.md "sandboxd's socket and token out of the sandbox's reach"). The pod is
// the default (Pod Security baseline) one: tini and agenttier-launch start as root, the token is a
// root-only copy the injector made, the port is bound by root. From inside it tries to read the token
// (the file, every /proc/*/environ and cmdline, every file under /run, /tmp and /workspace), ptrace,
// read or signal pid 1 and launch's port holder, find an inherited listening socket, bind sandboxd's
// port beside it, and finally kills its own reaper and sandboxd with an impostor waiting to bind the
// port and answer the router (while holding pid 1 with ptrace, if it can): the pod must end, the
// sandbox restart on a new pod, and no answer ever come from the impostor.
//
// scripts/kube.sh runs it on the real node after the in-process suites (its controller would fight
// theirs). AGENTTIER_E2E_POD_SECURITY=restricted runs the same attacks against the opt-in restricted pod
// (everything uid 1000), which fails them: the defence-removal check.
import { CoreV1Api } from '@kubernetes/client-node';
import { AgentTier } from '@agenttier/sdk';
import type { Sandbox } from '@agenttier/sdk';
import { describeOnRealCluster, eventually, realClusterSkipReason } from '@agenttier/testkit';
import { describe, expect, it } from 'vitest';
import { parseSandboxPodSecurity } from '../controller/start-controller.ts';
import { useRealRouterStack } from '../testing/index.ts';

const reason =
  realClusterSkipReason() ||
  (process.env.AGENTTIER_E2E_KUBELET === 'emulated'
    ? 'no real kubelet (AGENTTIER_E2E_KUBELET=emulated)'
    : '');
const podSecurity = parseSandboxPodSecurity(
  process.env.AGENTTIER_E2E_POD_SECURITY ?? 'baseline',
  'AGENTTIER_E2E_POD_SECURITY',
);

/**
 * sandboxd's pid: init's child with its command line (the same in both modes). Children sandboxd
 * forks (node-pty, spawn) carry that command line too until they execute theirs.
 */
const SANDBOXD_PID =
  'pgrep -P 1 -f "^/opt/agenttier/node/bin/node .*/opt/agenttier/sandboxd/sandboxd\\.mjs$"';

// ptrace(PTRACE_ATTACH=16) and an O_RDWR open of /proc/PID/mem, for each pid given.
const TAMPER = `
for my $pid (@ARGV) {
  my $r = syscall(101, 16, $pid + 0, 0, 0);
  print "ptrace $pid=", ($r == 0 ? "attached" : "refused:" . ($! + 0)), "\\n";
  syscall(101, 17, $pid + 0, 0, 0) if $r == 0;
  print "mem $pid=", (open(my $f, "+<", "/proc/$pid/mem") ? "opened" : "refused:" . ($! + 0)), "\\n";
}
`;

// Every descriptor of this process that is a listening socket (one inherited from sandboxd would let
// code in the sandbox accept the router's connections).
const LISTENERS = `
use Socket qw(SOL_SOCKET SO_ACCEPTCONN);
opendir(my $d, "/proc/self/fd") or die;
for my $fd (sort { $a <=> $b } grep { /^\\d+$/ } readdir $d) {
  open(my $s, "+<&=", $fd) or next;
  my $v = getsockopt($s, SOL_SOCKET, SO_ACCEPTCONN);
  print "listener on fd $fd\\n" if defined $v && unpack("i", $v) == 1;
}
print "scanned\\n";
`;

// Listening on sandboxd's port as the sandbox user, as an impostor would: every address, with
// SO_REUSEADDR and SO_REUSEPORT, IPv6 only beside an IPv4 wildcard.
const BIND_7070 = `
use Socket qw(:all);
for my $host (@ARGV) {
  my $af = $host =~ /:/ ? AF_INET6 : AF_INET;
  socket(my $s, $af, SOCK_STREAM, 0) or die "socket: $!";
  setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
  setsockopt($s, SOL_SOCKET, SO_REUSEPORT, 1);
  setsockopt($s, IPPROTO_IPV6, IPV6_V6ONLY, 1) if $af == AF_INET6;
  my (undef, $a) = getaddrinfo($host, 7070, {flags => AI_NUMERICHOST, family => $af, socktype => SOCK_STREAM});
  print "$host ", (bind($s, $a->{addr}) && listen($s, 5) ? "LISTENING" : "$!"), "\\n";
}
`;

// The whole attack, run as the exec's command: hold pid 1 with ptrace if it can (a stopped init never
// notices sandboxd's end, so the container would live on), kill sandboxd and its own reaper (so
// nothing kills it when the exec ends), then try to bind 7070 every 10 ms and answer whoever connects as
// sandboxd would, keeping what they send (the router's token). Everything goes to /workspace, which
// the next pod mounts again.
const IMPOSTOR = `
use Socket qw(:all);
open(my $log, ">>", "/workspace/attack.log") or die; select((select($log), $| = 1)[0]);
my $held = syscall(101, 16, 1, 0, 0) == 0;
print $log "ptrace init=", ($held ? "attached" : "refused:" . ($! + 0)), "\\n";
waitpid(1, 0x40000000) if $held; # __WALL: the attach stop
# kill(-1, SIGKILL): every process this uid may signal but this one, sandboxd and the reaper at once
# (one at a time, either could take this process with it first).
print $log "killing all\\n"; # written first: the container may end before the next line
print $log "kill all=", (syscall(62, -1, 9) == 0 ? "ok" : "refused:" . ($! + 0)), "\\n";
for my $try (1 .. 6000) {
  for my $host ("0.0.0.0", "::") {
    my $af = $host eq "::" ? AF_INET6 : AF_INET;
    socket(my $s, $af, SOCK_STREAM, 0) or next;
    setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
    my (undef, $a) = getaddrinfo($host, 7070, {flags => AI_NUMERICHOST, family => $af, socktype => SOCK_STREAM});
    next unless bind($s, $a->{addr}) && listen($s, 16);
    open(my $b, ">", "/workspace/impostor-bound"); print $b "$host try $try\\n"; close $b;
    while (accept(my $c, $s)) {
      my $req = ""; sysread($c, $req, 65536);
      open(my $r, ">>", "/workspace/impostor-requests"); print $r $req, "\\n---\\n"; close $r;
      my $body = q({"exitCode":0,"stdout":"IMPOSTOR","stderr":""});
      print $c "HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: ", length($body), "\\r\\nConnection: close\\r\\n\\r\\n", $body;
      close $c;
    }
  }
  select(undef, undef, undef, 0.01);
}
`;

describeOnRealCluster('attacks on sandboxd from inside a real sandbox pod', { skipReason: reason }, () => {
  describe(`attacks on sandboxd from inside a real sandbox pod (${podSecurity} pod)`, () => {
    let box: Sandbox;
    const stack = useRealRouterStack({
      prefix: 'attack',
      // The namespace label docs/kubernetes.md asks for: the default pod must be admitted under it.
      namespaceLabels: {
        'pod-security.kubernetes.io/enforce': podSecurity === 'baseline' ? 'baseline' : 'restricted',
      },
      templateCpu: '200m',
      controller: (ns) => ({
        identity: `attack-e2e-${ns}`,
        leaderElection: false,
        podSecurity,
        sandboxNamespaces: [ns],
      }),
      router: (ns) => ({ sandboxNamespaces: [ns] }),
      setup: async ({ router, cluster, ns }) => {
        const client = new AgentTier({ apiUrl: router.url, env: {} });
        box = await client.createSandbox({
          name: 'victim',
          template: 'e2e-shell',
          templateKind: 'SandboxTemplate',
          namespace: ns,
        });
        await box.waitUntilRunning({ timeoutMs: cluster.waitMs });
      },
      awaitPodsGone: true,
    });
    const { ns } = stack;
    const core = () => stack.cluster.kubeConfig.makeApiClient(CoreV1Api);

    const token = async () => {
      const s = await core().readNamespacedSecret({ namespace: ns, name: 'victim-sandboxd-token' });
      return Buffer.from(s.data!.token!, 'base64').toString();
    };
    const pod = () => core().readNamespacedPod({ namespace: ns, name: 'victim-pod' });
    const run = async (argv: string[]) => {
      const r = await box.exec(argv, { timeoutSec: 60 });
      return `${r.stdout}${r.stderr}`;
    };
    const sh = (script: string) => run(['sh', '-c', script]);

    it('runs commands as uid 1000 with no capability, under a root init', async () => {
      const out = await sh(
        'id -u; grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status | tr -d "\\t"; ps -o user=,args= -p 1',
      );
      expect(out).toMatch(/^1000\n/);
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
        expect(out).toContain(`${set}:0000000000000000`);
      expect(out).toMatch(/\nroot +\/opt\/agenttier\/bin\/tini -g -- /);
    });

    it('reads the token nowhere: not the file, not any environ or cmdline, not under /run, /tmp or /workspace', async () => {
      const secret = await token();
      const sandboxd = (await sh(SANDBOXD_PID)).trim();
      expect(sandboxd).toMatch(/^\d+$/);
      const probes = await sh(
        [
          // The injector's copy kept the owner and mode it was made with (fsGroup applied before it existed).
          'stat -c "token file: uid %u mode %a" /run/agenttier/token/token 2>&1',
          'cat /run/agenttier/token/token >/dev/null 2>&1 && echo "token file: read" || echo "token file: refused"',
          'ls /run/agenttier/token-secret >/dev/null 2>&1 && echo "secret volume: mounted" || echo "secret volume: absent"',
          'cat /proc/1/environ >/dev/null 2>&1 && echo "init environ: read" || echo "init environ: refused"',
          `cat /proc/${sandboxd}/environ >/dev/null 2>&1 && echo "sandboxd environ: read" || echo "sandboxd environ: refused"`,
        ].join('; '),
      );
      expect(probes.split('\n').filter(Boolean)).toEqual([
        'token file: uid 0 mode 400',
        'token file: refused',
        'secret volume: absent',
        'init environ: refused',
        'sandboxd environ: refused',
      ]);
      // Everything the sandbox user can read, in one output that must not hold the token.
      const everything = await sh(
        'for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do cat "$f" 2>/dev/null; echo; done; env; ' +
          'find /run /tmp /workspace -xdev -type f -size -1024k -readable -exec cat {} + 2>/dev/null; echo end-of-dump',
      );
      expect(everything).toContain('end-of-dump');
      expect(everything.includes(secret)).toBe(false);
      expect(everything).not.toContain('AGENTTIER_SANDBOXD_TOKEN=');
    });

    it('can neither ptrace, open the memory of, nor signal pid 1 or the port holder; inherits no listening socket', async () => {
      // The restricted pod has no holder: pid 1 stands in.
      const holder = (await sh('pgrep -x sandboxd-port || echo 1')).trim();
      const out =
        (await run(['perl', '-e', TAMPER, '1', holder])) +
        (await sh(
          `kill -0 1 2>/dev/null && echo "signal init: sent" || echo "signal init: refused"; ` +
            `kill -9 ${holder} 2>/dev/null && echo "kill holder: sent" || echo "kill holder: refused"`,
        )) +
        (await run(['perl', '-e', LISTENERS]));
      expect(out).toMatch(/^ptrace 1=refused:1\nmem 1=refused:13\n/); // EPERM, EACCES
      expect(out).not.toMatch(/ptrace \d+=attached|mem \d+=opened/);
      expect(out).toContain('signal init: refused');
      expect(out).toContain('kill holder: refused');
      expect(out).not.toContain('listener on fd');
      expect(out).toContain('scanned');
    });

    it('cannot listen on 7070 beside sandboxd, on any address, with SO_REUSEADDR and SO_REUSEPORT', async () => {
      const ip = (await pod()).status!.podIP!;
      const out = await run(['perl', '-e', BIND_7070, '0.0.0.0', ip, '::', '127.0.0.1']);
      expect(out.trim().split('\n')).toEqual([
        '0.0.0.0 Address already in use',
        `${ip} Address already in use`,
        ':: Address already in use',
        '127.0.0.1 Address already in use',
      ]);
    });

    it('killing sandboxd (and its reaper) ends the pod: the sandbox restarts, no impostor ever binds 7070 or answers', async () => {
      const before = (await pod()).metadata!.uid!;
      await sh('rm -f /workspace/attack.log /workspace/impostor-bound /workspace/impostor-requests');
      // The exec dies with sandboxd: its answer never comes.
      const sandboxd = (await sh(SANDBOXD_PID)).trim();
      expect(sandboxd).toMatch(/^\d+$/);
      const attack = box.exec(['perl', '-e', IMPOSTOR, sandboxd], { timeoutSec: 60 }).then(
        (r) => `answered: ${r.stdout}`,
        (err: unknown) => `failed: ${String(err)}`,
      );
      // Until the sandbox runs on a new pod, ask it over and over: no answer may come from the impostor.
      const answers: string[] = [];
      let seen = '';
      await eventually(
        async () => {
          const r = await box.exec(['echo', 'sandboxd'], { timeoutSec: 5 }).then(
            (x) => x.stdout,
            (err: unknown) => `unreachable: ${String(err)}`,
          );
          answers.push(r);
          const now = await pod().catch(() => undefined);
          const sb = await box.refresh().then(
            (b) => `${b.status} ${b.info.message ?? ''}`,
            () => '?',
          );
          seen = `pod ${now?.metadata?.uid ?? 'none'} (${now?.status?.phase ?? '-'}), sandbox ${sb}, answer ${r.trim()}`;
          return now?.metadata?.uid !== before && r === 'sandboxd\n';
        },
        'the sandbox to answer again from a new pod',
        { timeoutMs: stack.cluster.waitMs, intervalMs: 500, lastSeen: () => seen },
      );
      expect(await attack).not.toContain('IMPOSTOR');
      expect(answers.filter((a) => a.includes('IMPOSTOR'))).toEqual([]);
      // The attack ran (the workspace outlives the pod), got nowhere with init, and never bound the port.
      const log = await sh(
        'cat /workspace/attack.log; ls /workspace/impostor-bound /workspace/impostor-requests 2>&1 | sed "s/^/seen: /"',
      );
      expect(log).toContain('killing all');
      expect(log).not.toContain('kill all=refused');
      expect(log).toContain('ptrace init=refused:1');
      expect(log).toMatch(/seen: .*impostor-bound'?: No such file or directory/);
      expect(log).toMatch(/seen: .*impostor-requests'?: No such file or directory/);
      // And nothing of the old pod's processes is in the new one.
      expect(await sh('ps -eo args= | grep -c "[p]erl -e" || true')).toBe('0\n');
    }, 420_000);
  });
});
