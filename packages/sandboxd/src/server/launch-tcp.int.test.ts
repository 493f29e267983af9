/**
 * agenttier-launch's Kubernetes mode (`--listen-tcp`), as built into the bundle, run as root in a PID
 * and mount namespace of its own (what the pod's sandbox container is, its init a shell here): it binds
 * the TCP port as root and hands it to the command as descriptor 3, reads a root-only token file on a
 * read-only mount (which it cannot remove) and hands the token over on descriptor 4, and runs the
 * command as uid 1000 with no capability. While the command lives, and after it is killed until the
 * namespace's init ends, the sandbox user cannot bind the port in any way a stand-in daemon would try.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { LAUNCH_FILE, ensureSandboxdBundle } from '../bundle.ts';

const run = promisify(execFile);
const bundle = await ensureSandboxdBundle();
const launch = join(bundle.dir, LAUNCH_FILE);
const isRoot = process.getuid?.() === 0;
const TOKEN = 'k8s-launch-token-0123456789abcdefghij';

// What the launched command reports: its ids and capability sets, the family, port and V6ONLY of
// descriptor 3, and the token on descriptor 4; then it waits for stdin to close.
const REPORT = `
use Socket qw(:all);
open(my $s, '+<&=3') or die "no descriptor 3: $!";
my $name = getsockname($s);
my $fam = sockaddr_family($name);
my $port = $fam == AF_INET6 ? (unpack_sockaddr_in6($name))[0] : (unpack_sockaddr_in($name))[0];
my $v6only = $fam == AF_INET6 ? unpack('i', getsockopt($s, IPPROTO_IPV6, IPV6_V6ONLY)) : -1;
open(my $t, '<&=4') or die "no descriptor 4: $!";
my $token = <$t>;
open(my $st, '<', '/proc/self/status');
my %caps = map { /^(Cap\\w+):\\s+(\\w+)/ ? ($1, $2) : () } <$st>;
$| = 1;
print "uid=$< euid=$> gid=", (split ' ', $()[0], " fam=", ($fam == AF_INET6 ? 'inet6' : 'inet'),
  " port=$port v6only=$v6only token=$token caps=", join(',', map { $caps{$_} } qw(CapInh CapPrm CapEff CapBnd CapAmb)), "\\n";
my $line = <STDIN>;
kill 'KILL', $$ if defined $line && $line eq "kill\\n";
`;

// Tries to listen on the port as the sandbox user, the ways an impostor would: the IPv4 wildcard and
// loopback with SO_REUSEADDR and SO_REUSEPORT, and IPv6 only (IPV6_V6ONLY) with both too.
const IMPOSTOR = `
use Socket qw(:all);
my $port = shift;
for my $try (['inet', '0.0.0.0'], ['inet', '127.0.0.1'], ['inet6', '::'], ['inet6', '::1']) {
  my ($fam, $host) = @$try;
  my $af = $fam eq 'inet' ? AF_INET : AF_INET6;
  socket(my $s, $af, SOCK_STREAM, 0) or die "socket: $!";
  setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
  setsockopt($s, SOL_SOCKET, SO_REUSEPORT, 1);
  setsockopt($s, IPPROTO_IPV6, IPV6_V6ONLY, 1) if $af == AF_INET6;
  my (undef, $addr) = getaddrinfo($host, $port, {flags => AI_NUMERICHOST, family => $af, socktype => SOCK_STREAM});
  my $ok = bind($s, $addr->{addr}) && listen($s, 5);
  print "$host ", ($ok ? 'LISTENING' : "$!"), "\\n";
}
`;

const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A directory holding a root-only token file (mode `mode`). */
function tokenDir(mode = 0o400): string {
  const dir = mkdtempSync(join(tmpdir(), 'launch-tcp-'));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'token'), TOKEN, { mode });
  chmodSync(join(dir, 'token'), mode);
  return dir;
}

/**
 * agenttier-launch in a PID and mount namespace of its own where `dir` is read-only, as the pod mounts
 * the token's copy. The namespace's init (a shell, as tini in the pod) says when the command ended and
 * then stays until stdin closes or the test kills it (`--kill-child`: the namespace and everything left
 * in it go with it, as a container's processes do).
 */
function launchReadOnly(
  dir: string,
  launchArgs: string[],
  command: string[],
): ChildProcessWithoutNullStreams {
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--pid',
      '--kill-child',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" || exit 1; exec 9<&0; "$@" <&9 & wait $!; echo "ended $?"; exec cat >/dev/null',
      dir,
      launch,
      ...launchArgs,
      '--',
      ...command,
    ],
    { stdio: 'pipe' },
  );
  children.push(child);
  return child;
}

function collect(child: ChildProcessWithoutNullStreams) {
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  /** The command's exit status, as the namespace's init saw it. */
  const ended = () =>
    eventually(() => /^ended (\d+)$/m.exec(out)?.[1], `the command to end (${err})`).then(Number);
  return { out: () => out, err: () => err, exited, ended, kill: () => child.kill('SIGKILL') };
}

/** The impostor's four tries as the sandbox user, one line each. */
async function impostor(port: number): Promise<string[]> {
  const { stdout } = await run('setpriv', [
    '--reuid=1000',
    '--regid=1000',
    '--clear-groups',
    'perl',
    '-e',
    IMPOSTOR,
    String(port),
  ]);
  return stdout.trim().split('\n');
}
const ALL_REFUSED = [
  '0.0.0.0 Address already in use',
  '127.0.0.1 Address already in use',
  ':: Address already in use',
  '::1 Address already in use',
];

/** launch in Kubernetes mode on LISTEN with the read-only token copy; resolves with the command's report line. */
async function launchReporting(listen: string) {
  const dir = tokenDir();
  const child = launchReadOnly(
    dir,
    [
      '--listen-tcp',
      listen,
      '--uid',
      '1000',
      '--gid',
      '1000',
      '--token-file',
      join(dir, 'token'),
      '--token-file-read-only',
    ],
    ['perl', '-e', REPORT],
  );
  const io = collect(child);
  const line = await eventually(() => /^uid=.*\n/m.exec(io.out())?.[0], `the command's report (${io.err()})`);
  return { dir, child, io, line };
}

describe.skipIf(!existsSync(launch) || !isRoot)('agenttier-launch --listen-tcp (Kubernetes mode)', () => {
  it('binds [::]:PORT as root for both families, hands port and token over, runs the command as 1000 without capabilities', async () => {
    const { dir, child, io, line } = await launchReporting('[::]:0');
    expect(line).toMatch(
      new RegExp(
        `^uid=1000 euid=1000 gid=1000 fam=inet6 port=\\d+ v6only=0 token=${TOKEN} caps=${Array(5).fill('0{16}').join(',')}\n$`,
      ),
    );
    const port = Number(/port=(\d+)/.exec(line)![1]);
    // The copy stays (read-only mount), still root's and 0400: nobody but root reads it.
    expect(statSync(join(dir, 'token')).mode & 0o777).toBe(0o400);

    // While the command lives, no way of binding the port works for the sandbox user.
    expect(await impostor(port)).toEqual(ALL_REFUSED);
    // Killed (as code in the sandbox can kill sandboxd), the port stays taken by launch's holder...
    child.stdin.write('kill\n');
    expect(await io.ended()).toBe(137);
    expect(await impostor(port)).toEqual(ALL_REFUSED);
    // ... until the namespace's init ends, which takes every process left with it: nothing leaks.
    child.kill('SIGKILL');
    await io.exited;
    await eventually(
      async () => (await impostor(port)).every((l) => l.endsWith('LISTENING')),
      'the port to be free once the namespace is gone',
    );
  });

  it('binds an IPv4 address as given (0.0.0.0, the restricted pod’s address)', async () => {
    const { child, io, line } = await launchReporting('127.0.0.1:0');
    expect(line).toMatch(/ fam=inet port=\d+ v6only=-1 /);
    child.stdin.end();
    expect(await io.ended()).toBe(0);
    child.kill('SIGKILL');
  });

  it('fails closed (126, the command never runs): token file not root-only, a read-only file without the flag, no root', async () => {
    const marker = (dir: string) => ['sh', '-c', `touch ${dir}/ran`];
    // Group-readable, as a Secret volume with fsGroup is: refused.
    const open = tokenDir(0o440);
    let io = collect(
      launchReadOnly(
        open,
        [
          '--listen-tcp',
          '127.0.0.1:0',
          '--uid',
          '1000',
          '--gid',
          '1000',
          '--token-file',
          join(open, 'token'),
          '--token-file-read-only',
        ],
        ['true'],
      ),
    );
    expect(await io.ended()).toBe(126);
    expect(io.err()).toContain('the token file is not a root-only regular file');
    io.kill();

    // Removal refused by the read-only mount, without --token-file-read-only: refused.
    const ro = tokenDir();
    io = collect(
      launchReadOnly(
        ro,
        ['--listen-tcp', '127.0.0.1:0', '--uid', '1000', '--gid', '1000', '--token-file', join(ro, 'token')],
        ['true'],
      ),
    );
    expect(await io.ended()).toBe(126);
    expect(io.err()).toContain('remove the token file: Read-only file system');
    io.kill();

    // Started as the sandbox user (a pod whose securityContext was changed): refused, nothing runs.
    const dir = tokenDir();
    chmodSync(dir, 0o777);
    await expect(
      run('setpriv', [
        '--reuid=1000',
        '--regid=1000',
        '--clear-groups',
        launch,
        '--listen-tcp',
        '127.0.0.1:0',
        '--uid',
        '1000',
        '--gid',
        '1000',
        '--',
        ...marker(dir),
      ]),
    ).rejects.toMatchObject({
      code: 126,
      stderr: expect.stringContaining('--listen-tcp needs to start as root'),
    });
    expect(existsSync(join(dir, 'ran'))).toBe(false);

    // A port taken by someone else: refused.
    const taken = await new Promise<{ port: number; close: () => void }>((resolve) => {
      const srv = spawn(
        'perl',
        [
          '-MIO::Socket::INET',
          '-e',
          '$|=1; my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die; print $s->sockport, "\\n"; <STDIN>',
        ],
        { stdio: 'pipe' },
      );
      children.push(srv);
      srv.stdout.once('data', (b: Buffer) =>
        resolve({ port: Number(b.toString().trim()), close: () => srv.stdin.end() }),
      );
    });
    await expect(
      run(launch, [
        '--listen-tcp',
        `127.0.0.1:${taken.port}`,
        '--uid',
        '1000',
        '--gid',
        '1000',
        '--',
        ...marker(dir),
      ]),
    ).rejects.toMatchObject({ code: 126, stderr: expect.stringContaining('Address already in use') });
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    taken.close();

    // Both a socket and a port, or neither: usage.
    await expect(
      run(launch, ['--socket', '/x', '--listen-tcp', ':1', '--uid', '1000', '--gid', '1000', '--', 'true']),
    ).rejects.toMatchObject({ code: 2 });
    await expect(run(launch, ['--uid', '1000', '--gid', '1000', '--', 'true'])).rejects.toMatchObject({
      code: 2,
    });
    await expect(
      run(launch, ['--listen-tcp', 'nope', '--uid', '1000', '--gid', '1000', '--', 'true']),
    ).rejects.toMatchObject({ code: 126 });
  });
});
