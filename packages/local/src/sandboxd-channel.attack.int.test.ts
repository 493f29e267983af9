/**
 * Attacks on the router ↔ sandboxd channel from inside a real sandbox (docs/security.md, "Local sandboxd
 * channel" and "Mount information"). The attacker's code runs in the sandbox as its user, through the
 * engine (as code the sandbox itself ran would), and then the router is made to talk to the sandbox:
 * bursts of concurrent execs force it to open new connections rather than reuse pooled ones.
 *
 * Each case reproduces an attack that worked against the old run directory (a host directory, writable by
 * the sandbox, holding the token file the router read and chowned and the socket it connected to by path).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually as waitUntil } from '@agenttier/testkit';
import type { Sandbox } from '@agenttier/contract';
import { createDockerClient, engineHostPaths } from '@agenttier/platform-local';
import { ensureSandboxdBundle } from '@agenttier/sandboxd';
import type { TestPlatform } from './testing/platform.ts';
import { codeTemplate, probeEngine } from './testing/engine.ts';
import {
  api,
  dockerHost,
  execIn,
  removeDir,
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  waitForPhase,
} from './testing/platform.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- REST answers are loosely typed JSON */

const docker = createDockerClient(dockerHost);
/** The engine may see its data root at a path of its own (scripts/engine.sh's own-fs layout). */
const hostPathOf = await engineHostPaths(docker);
const NODE = '/opt/agenttier/node/bin/node';

/**
 * Runs `script` in the sandbox's container as the sandbox user: what code inside the sandbox can do.
 * With `runDirWriter`, as the container's root instead (only CAP_SETUID/SETGID): the run directory is
 * root's since agenttier-launch (sandboxd-socket-token.attack.int.test.ts shows the sandbox user cannot
 * write it), so these cases now check the router's second line: what if the sandbox could.
 */
async function asSandbox(
  container: string,
  script: string,
  opts: { detach?: boolean; runDirWriter?: boolean } = {},
): Promise<string> {
  const ex = await docker.getContainer(container).exec({
    Cmd: ['sh', '-c', script],
    User: opts.runDirWriter ? '0:0' : '1000:1000',
    AttachStdout: !opts.detach,
    AttachStderr: !opts.detach,
  });
  if (opts.detach) {
    await ex.start({ Detach: true });
    return '';
  }
  const stream = await ex.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  docker.modem.demuxStream(stream, out, out);
  await new Promise<void>((resolve, reject) => {
    stream.once('end', () => resolve());
    stream.once('error', reject);
  });
  const { ExitCode } = await ex.inspect();
  if (ExitCode !== 0) throw new Error(`in-sandbox script failed (${ExitCode}): ${script}\n${text}`);
  return text;
}

async function containerInfo(container: string) {
  return docker.getContainer(container).inspect();
}

function tokenOf(info: Awaited<ReturnType<typeof containerInfo>>): string {
  return info.Config.Labels['agenttier.io/sandboxd-token'] ?? '';
}

function runDirOf(info: Awaited<ReturnType<typeof containerInfo>>): string {
  const m = info.Mounts.find((x) => x.Destination === '/run/agenttier');
  if (!m?.Source) throw new Error('no run volume');
  return hostPathOf(m.Source);
}

/** A host unix socket the attacker points the router at; counts every connection it gets. */
async function bait(path: string): Promise<{ server: Server; accepted: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { server, accepted: () => n };
}

/** Waits for `cond` at the pace of engine calls (each poll runs a command in a container). */
const eventually = (cond: () => Promise<boolean> | boolean, what: string): Promise<true> =>
  waitUntil(async () => (await cond()) || undefined, what, { timeoutMs: 60_000, intervalMs: 100 });

const NAMES = ['imp-a', 'imp-b', 'sym-a', 'sym-b', 'rst-a', 'rst-b', 'fifo-a'];

describe('the router ↔ sandboxd channel under attack from inside a sandbox', () => {
  const ns = testNamespace('it-channel');
  const host = mkdtempSync(join(tmpdir(), 'channel-attack-'));
  let platform: TestPlatform | undefined;
  let base = '';
  let dataDir = '';
  const servers: Server[] = [];
  const cn = (name: string): string => `agenttier-${ns}-${name}`;

  /** `n` concurrent execs through the router: more than its pool holds, so new connections are opened. */
  async function burst(name: string, command: string, n = 16): Promise<any[]> {
    return Promise.all(
      Array.from({ length: n }, () =>
        api(base, 'POST', `/api/v1/sandboxes/${name}/exec?namespace=${ns}`, { command }),
      ),
    );
  }

  beforeAll(async () => {
    chmodSync(host, 0o755);
    platform = await startTestPlatform();
    base = platform.url;
    dataDir = platform.dataDir;
    for (const name of NAMES) {
      const r = await api(base, 'POST', '/api/v1/sandboxes', {
        name,
        namespace: ns,
        templateRef: { name: 'minimal-shell' },
      });
      expect(r.status, r.text).toBe(201);
    }
    for (const name of NAMES) await waitForPhase(base, ns, name, 'Running');
  });

  afterAll(async () => {
    for (const s of servers) s.close();
    await stopTestPlatform(platform, { dockerHost, namespace: ns });
    if (!platform) removeDir(dataDir);
    rmSync(host, { recursive: true, force: true });
  });

  it('an impostor daemon learns only its own sandbox token, never a host file the token name points at', async () => {
    const secret = `HOST-SECRET-${randomBytes(8).toString('hex')}`;
    const secretFile = join(host, 'root-only-secret');
    writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    const impostor = [
      "import { createServer } from 'node:http';",
      "import { appendFileSync, unlinkSync } from 'node:fs';",
      "const path = '/run/agenttier/sandboxd.sock';",
      'try { unlinkSync(path); } catch {}',
      'createServer((req, res) => {',
      "  appendFileSync('/tmp/seen.log', JSON.stringify({ url: req.url, auth: req.headers.authorization ?? '' }) + '\\n');",
      '  req.resume();',
      "  res.writeHead(500, { 'content-type': 'application/json' });",
      '  res.end(\'{"error":{"code":"internal","message":"impostor"}}\');',
      "}).listen(path, () => appendFileSync('/tmp/seen.log', 'listening\\n'));",
    ].join('\n');
    await asSandbox(
      cn('imp-a'),
      `cat > /tmp/impostor.mjs <<'EOF'\n${impostor}\nEOF\nln -sf ${secretFile} /run/agenttier/token`,
      { runDirWriter: true },
    );
    await asSandbox(cn('imp-a'), `exec ${NODE} /tmp/impostor.mjs`, { detach: true, runDirWriter: true });
    await eventually(
      async () =>
        (await asSandbox(cn('imp-a'), 'cat /tmp/seen.log 2>/dev/null || true')).includes('listening'),
      'the impostor to listen',
    );

    await burst('imp-a', 'echo hi');
    await eventually(
      async () => (await asSandbox(cn('imp-a'), 'cat /tmp/seen.log')).includes('"auth"'),
      'the router to reach the impostor',
    );
    const seen = (await asSandbox(cn('imp-a'), 'cat /tmp/seen.log'))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { auth: string });
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s.auth).not.toContain(secret);
    // All it learns is its own sandbox's token for this start, which no other sandbox accepts.
    const tokenA = tokenOf(await containerInfo(cn('imp-a')));
    const tokenB = tokenOf(await containerInfo(cn('imp-b')));
    expect(tokenA.length).toBeGreaterThanOrEqual(32);
    expect(tokenA).not.toBe(tokenB);
    // (Health probes carry no credential at all.)
    const sent = seen.filter((s) => s.auth !== '');
    expect(sent.length).toBeGreaterThan(0);
    for (const s of sent) expect(s.auth).toBe(`Bearer ${tokenA}`);

    // The other sandbox is untouched by A's impostor and still served by its own sandboxd.
    expect((await execIn(base, ns, 'imp-b', 'hostname')).stdout).toBe('imp-b\n');
    expect((await api(base, 'GET', '/healthz')).status).toBe(200);
  });

  it('a socket swapped for a symlink reaches no host socket, no engine and no other sandbox', async () => {
    const baitSock = join(host, 'bait.sock');
    const b = await bait(baitSock);
    servers.push(b.server);
    const otherSocket = join(runDirOf(await containerInfo(cn('sym-b'))), 'sandboxd.sock');
    const engineSocket = dockerHost.replace(/^unix:\/\//, '');
    for (const target of [baitSock, otherSocket, engineSocket]) {
      await asSandbox(cn('sym-a'), `ln -sfn ${target} /run/agenttier/sandboxd.sock`, { runDirWriter: true });
      for (const r of await burst('sym-a', 'hostname')) {
        expect(r.status, `${target}: ${r.text}`).toBe(200);
        // sym-b's sandboxd would answer with its own hostname; the engine with no exec result at all.
        expect(r.json.stdout, target).toBe('sym-a\n');
      }
    }
    expect(b.accepted()).toBe(0);
    expect((await api(base, 'GET', '/healthz')).status).toBe(200);
  });

  it('a restart the sandbox causes chowns, creates and follows nothing it planted', async () => {
    const victim = join(host, 'victim');
    writeFileSync(victim, 'untouched', { mode: 0o600 });
    const created = join(host, 'created-by-router');
    const before = {
      a: await containerInfo(cn('rst-a')),
      b: await containerInfo(cn('rst-b')),
    };
    await asSandbox(
      cn('rst-a'),
      `ln -sf ${victim} /run/agenttier/token && ln -sfn ${host} /run/agenttier/sub`,
      { runDirWriter: true },
    );
    await asSandbox(
      cn('rst-b'),
      `ln -sf ${created} /run/agenttier/token && ln -sf ${created}.sock /run/agenttier/sandboxd.sock`,
      { runDirWriter: true },
    );
    // The sandbox restarts itself: it kills sandboxd (its init, root's since agenttier-launch, takes no
    // signal from it), the container ends with it, the controller replaces the container.
    // Detached: the exec session dies with the container (Podman then no longer knows it).
    for (const name of ['rst-a', 'rst-b'])
      await asSandbox(cn(name), 'kill -KILL $(pgrep -f /opt/agenttier/sandboxd/sandboxd.mjs)', {
        detach: true,
      });
    for (const [name, old] of [
      ['rst-a', before.a],
      ['rst-b', before.b],
    ] as const) {
      await eventually(async () => {
        const now = await containerInfo(cn(name)).catch(() => undefined);
        const sb = await api(base, 'GET', `/api/v1/sandboxes/${name}?namespace=${ns}`);
        return !!now && now.Id !== old.Id && now.State.Running && sb.json?.status === 'Running';
      }, `${name} to run again on a new container`);
    }
    const st = statSync(victim);
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({ uid: 0, gid: 0, mode: 0o600 });
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(statSync(host).uid).toBe(0);
    expect(existsSync(created)).toBe(false);
    expect(existsSync(`${created}.sock`)).toBe(false);
    for (const [name, old] of [
      ['rst-a', before.a],
      ['rst-b', before.b],
    ] as const) {
      const now = await containerInfo(cn(name));
      // A new start: a new token and a fresh, empty run volume.
      expect(tokenOf(now)).not.toBe(tokenOf(old));
      expect(runDirOf(now)).not.toBe(runDirOf(old));
      expect((await execIn(base, ns, name, 'hostname')).stdout).toBe(`${name}\n`);
    }
  });

  it('mountinfo inside a sandbox shows neither the data dir, the sandbox uid nor where AgentTier is installed', async () => {
    const sb = await platform?.store.get<Sandbox>('Sandbox', { namespace: ns, name: 'imp-b' });
    const uid = sb?.metadata.uid ?? '';
    expect(uid).toBeTruthy();
    const mountinfo = await asSandbox(cn('imp-b'), 'cat /proc/self/mountinfo');
    expect(mountinfo).toContain(' /run/agenttier ');
    expect(mountinfo).not.toContain(dataDir);
    expect(mountinfo).not.toContain(uid);
    // sandboxd comes from an engine volume, not a bind mount of where AgentTier is installed.
    const bundle = await ensureSandboxdBundle();
    for (const installed of [bundle.dir, dirname(bundle.nodeBinary), dirname(dirname(bundle.dir))]) {
      expect(mountinfo).not.toContain(installed);
    }
    expect(mountinfo).toContain(' /opt/agenttier/sandboxd ');
    expect(mountinfo).toContain(' /opt/agenttier/node ');
  });

  it('the run volume is root-owned: the sandbox cannot write there, so it cannot fill the host disk through it', async () => {
    const out = await asSandbox(
      cn('imp-b'),
      'dd if=/dev/zero of=/run/agenttier/fill bs=1M count=8 2>&1; ls -A /run/agenttier',
    );
    expect(out).toMatch(/Permission denied/);
    expect(out.trim().split('\n').at(-1)).toBe('sandboxd.sock');
    // sandboxd still serves through it.
    expect((await execIn(base, ns, 'imp-b', 'echo ok')).stdout).toBe('ok\n');
  });

  // Last: it closes the platform.
  it('FIFOs in place of the socket and the token hang nothing: the router answers and shuts down', async () => {
    await asSandbox(
      cn('fifo-a'),
      'cd /run/agenttier && rm -f sandboxd.sock token && mkfifo sandboxd.sock token',
      { runDirWriter: true },
    );
    const results = await burst('fifo-a', 'echo still-served');
    for (const r of results) {
      expect(r.status, r.text).toBe(200);
      expect(r.json.stdout).toBe('still-served\n');
    }
    // The controller probes the sandbox's daemon too (readiness): the probe must not block either.
    platform?.controller.enqueue(ns, 'fifo-a');
    expect((await api(base, 'GET', '/healthz')).status).toBe(200);
    expect((await execIn(base, ns, 'imp-b', 'echo other')).stdout).toBe('other\n');
    const closing = platform;
    platform = undefined;
    await closing?.close();
  });
});

/** Whether the engine can run gVisor (scripts/engine.sh registers runsc); the gVisor case is skipped otherwise. */
const { runsc } = await probeEngine();
if (!runsc)
  console.log('sandboxd-channel.attack.int.test.ts: the gVisor mountinfo case is skipped (no runsc)');

describe.skipIf(!runsc)('mount information under gVisor', () => {
  const ns = testNamespace('it-channel-gv');
  let platform: TestPlatform | undefined;

  afterAll(async () => {
    await stopTestPlatform(platform, { dockerHost, namespace: ns });
  });

  it('shows no host path at all: no data dir, sandbox uid, engine data root or mount source', async () => {
    platform = await startTestPlatform();
    const template = codeTemplate('gvisor-shell', { runtimeClass: 'gvisor' });
    expect((await api(platform.url, 'POST', '/api/v1/templates', template)).status).toBe(201);
    const created = await api(platform.url, 'POST', '/api/v1/sandboxes', {
      name: 'gv-mnt',
      namespace: ns,
      templateRef: { name: 'gvisor-shell' },
    });
    expect(created.status, created.text).toBe(201);
    await waitForPhase(platform.url, ns, 'gv-mnt', 'Running');
    const container = `agenttier-${ns}-gv-mnt`;
    const info = await containerInfo(container);
    expect(info.HostConfig.Runtime).toBe('runsc');
    const sb = await platform.store.get<Sandbox>('Sandbox', { namespace: ns, name: 'gv-mnt' });
    const engineRoot = ((await docker.info()) as { DockerRootDir: string }).DockerRootDir;
    const mountinfo = await asSandbox(container, 'cat /proc/self/mountinfo');
    expect(mountinfo).toContain(' /run/agenttier ');
    const hostPaths = [
      platform.dataDir,
      sb?.metadata.uid ?? 'no-uid',
      engineRoot,
      ...info.Mounts.map((m) => m.Source).filter((p): p is string => !!p),
    ];
    for (const p of hostPaths) expect(mountinfo, p).not.toContain(p);
  });
});
