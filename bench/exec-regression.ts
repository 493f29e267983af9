/**
 * Issue 8's performance check, repeatable: the exec round trip of this tree next to the commit before the
 * isolation work (ab7378b), both running at once on this machine, measured in one run.
 *
 *   npm run bench:exec-regression          (= npx tsx bench/exec-regression.ts; root, the private engine)
 *
 * It checks the base commit out into a temporary git worktree, installs its dependencies (`npm ci
 * --prefer-offline`) and builds its sandboxd bundle; builds this tree's bundle; starts both trees' CLI
 * `up` (what `npm run up` ends in) on free loopback ports with their own data dirs and CLI config files
 * against the shared engine; creates one minimal-shell sandbox in each; then, after a warm-up, runs
 * rounds of sequential `POST /api/v1/sandboxes/{name}/exec` calls through fetch that alternate side
 * at every call (A,B then B,A, so both meet the same moment's load): `["true"]`, then a medium output
 * (`["seq","1","20000"]`, 108,894 bytes of stdout). Both sides use the same client and the same image
 * (the script says so if the image directories differ); each uses what its own `up` sets up by default
 * (the base has no authentication, the current tree an admin API key that `up` creates).
 *
 * Prints median and p90 per side, the ratio current/base of the medians and the median of per-round
 * ratios, the CPU per exec of each router process and each sandbox container, and the machine's load.
 * Deletes both sandboxes, stops both installs, removes anything left with either install's label,
 * releases loop workspaces and removes the worktree and data, also on Ctrl-C, SIGTERM or failure.
 *
 * Env: BENCH_BASE_REF (ab7378b), BENCH_ROUNDS (16), BENCH_TRUE_PER_ROUND (20), BENCH_MEDIUM_PER_ROUND
 * (8), BENCH_WARMUP (10 of each kind per side), BENCH_BASE_TREE (an already prepared checkout of the base
 * to use instead of a fresh worktree; left in place), AGENTTIER_DOCKER_HOST (the private engine).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoopWorkspaces, createDockerClient } from '@agenttier/platform-local';
import {
  allSamples,
  busyShare,
  comparisonTable,
  cpuTable,
  loadSummary,
  newSeries,
  parseCpuLine,
} from './regression-report.ts';
import type { Comparison, SideSeries } from './regression-report.ts';
import { killStarted, processCpuMs, runLogged, startUp } from './regression-up.ts';
import type { UpInstall } from './regression-up.ts';
import { median, timeMs } from './stats.ts';

const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a whole number ≥ 1`);
  return v;
};
const baseRef = process.env.BENCH_BASE_REF ?? 'ab7378b';
const rounds = num('BENCH_ROUNDS', 16);
const truePerRound = num('BENCH_TRUE_PER_ROUND', 20);
const mediumPerRound = num('BENCH_MEDIUM_PER_ROUND', 8);
const warmup = num('BENCH_WARMUP', 10);
const dockerHost = process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock';
const INSTANCE_LABEL = 'agenttier.io/instance';
const MEDIUM_COMMAND = ['seq', '1', '20000'];
const MEDIUM_BYTES = 108_894; // bytes `seq 1 20000` writes

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'agenttier-exec-regression-'));
const givenBaseTree = process.env.BENCH_BASE_TREE;
const baseTree = givenBaseTree ?? join(work, 'base');
const engine = createDockerClient(dockerHost);
const say = (msg: string) => process.stderr.write(`exec-regression: ${msg}\n`);
const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

interface Side {
  name: 'base' | 'current';
  install?: UpInstall;
  sandbox: string;
  container: string;
  trueSeries: SideSeries;
  mediumSeries: SideSeries;
}
const sides: Side[] = (['base', 'current'] as const).map((name) => {
  const sandbox = `execreg-${name}-${process.pid}`;
  return {
    name,
    sandbox,
    container: `agenttier-default-${sandbox}`,
    trueSeries: newSeries(),
    mediumSeries: newSeries(),
  };
});
const [base, current] = sides as [Side, Side];

// --- clean-up, once, on success, failure, Ctrl-C or SIGTERM -------------------------------------------
let cleaning: Promise<void> | undefined;
const cleanup = () => (cleaning ??= cleanupOnce());

async function cleanupOnce(): Promise<void> {
  for (const side of sides) {
    const up = side.install;
    if (!up) continue;
    try {
      if (up.running()) {
        await (await up.api(`/sandboxes/${side.sandbox}`, { method: 'DELETE' })).arrayBuffer();
        const deadline = Date.now() + 120_000;
        while (Date.now() < deadline && up.running()) {
          const res = await up.api(`/sandboxes/${side.sandbox}`);
          await res.arrayBuffer();
          if (res.status === 404) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } catch (err) {
      say(`${side.name}: delete of ${side.sandbox} failed (${(err as Error).message}); sweeping by label`);
    }
    await up.stop().catch((err: unknown) => say(`${side.name}: stop: ${(err as Error).message}`));
    await sweepInstall(up.dataDir).catch((err: unknown) => say(`${side.name}: sweep: ${String(err)}`));
  }
  killStarted();
  if (!givenBaseTree && existsSync(baseTree)) {
    try {
      git('worktree', 'remove', '--force', baseTree);
    } catch (err) {
      say(`git worktree remove failed (${(err as Error).message.split('\n')[0]}); removing the directory`);
      rmSync(baseTree, { recursive: true, force: true });
      git('worktree', 'prune');
    }
  }
  rmSync(work, { recursive: true, force: true });
}

/** Containers and volumes still carrying the install's instance label, and its loop workspaces. */
async function sweepInstall(dataDir: string): Promise<void> {
  const idFile = join(dataDir, 'instance-id');
  const id = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : '';
  if (id) {
    const filters = { label: [`${INSTANCE_LABEL}=${id}`] };
    for (const c of await engine.listContainers({ all: true, filters })) {
      if (c.Labels?.[INSTANCE_LABEL] !== id) continue;
      say(`removing leftover container ${c.Names?.[0] ?? c.Id}`);
      await engine.getContainer(c.Id).remove({ force: true, v: true });
    }
    for (const v of (await engine.listVolumes({ filters })).Volumes ?? []) {
      if (v.Labels?.[INSTANCE_LABEL] !== id) continue;
      say(`removing leftover volume ${v.Name}`);
      await engine.getVolume(v.Name).remove({ force: true });
    }
  }
  const loops = new LoopWorkspaces(join(dataDir, 'workspaces'));
  for (const uid of await loops.list().catch(() => [] as string[]))
    await loops.release(uid).catch((err: unknown) => say(`loop workspace ${uid}: ${String(err)}`));
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`${sig}: cleaning up (a second ${sig} kills at once)`);
    process.once(sig, () => {
      killStarted();
      process.exit(130);
    });
    void cleanup().finally(() => process.exit(130));
  });
}

// --- measurement --------------------------------------------------------------------------------------
async function exec(side: Side, command: string[], stdoutBytes?: number): Promise<void> {
  const res = await side.install!.api(`/sandboxes/${side.sandbox}/exec`, { body: { command } });
  const body = (await res.json()) as { exitCode?: number; stdout?: string; truncated?: boolean };
  if (res.status !== 200 || body.exitCode !== 0 || body.truncated)
    throw new Error(`${side.name}: exec ${command.join(' ')}: ${res.status} ${JSON.stringify(body)}`);
  if (stdoutBytes !== undefined && body.stdout?.length !== stdoutBytes)
    throw new Error(`${side.name}: exec ${command.join(' ')}: ${body.stdout?.length} bytes of stdout`);
}

async function untilExecOk(side: Side, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await exec(side, ['true']);
    } catch (err) {
      if (Date.now() > deadline || !side.install!.running()) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function containerCpuMs(container: string): Promise<number> {
  const stats = (await engine.getContainer(container).stats({ stream: false, 'one-shot': true } as {
    stream: false;
  })) as { cpu_stats?: { cpu_usage?: { total_usage?: number } } };
  return (stats.cpu_stats?.cpu_usage?.total_usage ?? NaN) / 1e6;
}

/**
 * One phase of a round: `n` execs of `command` on each side, alternating side by side (A,B then B,A
 * at each step), so both meet the same moment's load. Each side's router process and sandbox container
 * CPU over the phase is added to its series (each process does only its own side's work).
 */
async function phase(
  pick: (side: Side) => SideSeries,
  n: number,
  command: string[],
  bytes?: number,
): Promise<void> {
  const cpu0 = await Promise.all(
    sides.map(async (s) => [processCpuMs(s.install!.pid), await containerCpuMs(s.container)]),
  );
  const samples = new Map<Side, number[]>(sides.map((s) => [s, []]));
  for (let i = 0; i < n; i++) {
    for (const side of i % 2 === 0 ? [base, current] : [current, base])
      samples.get(side)!.push(await timeMs(() => exec(side, command, bytes)));
  }
  for (const [k, side] of sides.entries()) {
    const into = pick(side);
    into.rounds.push(samples.get(side)!);
    const router = processCpuMs(side.install!.pid) - cpu0[k]![0]!;
    const box = (await containerCpuMs(side.container)) - cpu0[k]![1]!;
    into.cpuMs['router process CPU'] = (into.cpuMs['router process CPU'] ?? 0) + router;
    into.cpuMs['sandbox container CPU'] = (into.cpuMs['sandbox container CPU'] ?? 0) + box;
  }
}

/** sha256 over images/NAME's files, as scripts/images.sh labels the image it builds. */
function imageDirSha(tree: string, name: string): string {
  return execFileSync(
    'bash',
    [
      '-c',
      'cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d" " -f1',
      'sha',
      join(tree, 'images', name),
    ],
    { encoding: 'utf8' },
  ).trim();
}

try {
  const baseSha = git('rev-parse', '--short', `${baseRef}^{commit}`);
  const currentSha = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  say(`work dir ${work}`);
  if (!givenBaseTree) {
    say(`checking out ${baseSha} into ${baseTree}`);
    git('worktree', 'add', '--detach', baseTree, baseSha);
    say('installing its dependencies (npm ci --prefer-offline)');
    await runLogged('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: baseTree,
      logFile: join(work, 'base-npm-ci.log'),
    });
  }
  for (const side of sides) {
    const tree = side.name === 'base' ? baseTree : repo;
    say(`${side.name}: building sandboxd (npm run build -w @agenttier/sandboxd)`);
    await runLogged('npm', ['run', 'build', '-w', '@agenttier/sandboxd'], {
      cwd: tree,
      logFile: join(work, `${side.name}-build.log`),
    });
  }
  const sameImage = imageDirSha(baseTree, 'minimal-shell') === imageDirSha(repo, 'minimal-shell');
  if (!sameImage)
    say('images/minimal-shell differs between the trees: both sides run the image now in the engine');

  for (const side of sides) {
    say(`${side.name}: starting up`);
    side.install = await startUp({
      label: side.name,
      tree: side.name === 'base' ? baseTree : repo,
      workDir: work,
      dockerHost,
      readyTimeoutMs: 180_000,
    });
    const res = await side.install.api('/sandboxes', {
      body: { name: side.sandbox, templateRef: { name: 'minimal-shell' } },
    });
    if (res.status !== 201) throw new Error(`${side.name}: create: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  for (const side of sides) {
    await untilExecOk(side, 180_000);
    for (let i = 0; i < warmup; i++) {
      await exec(side, ['true']);
      await exec(side, MEDIUM_COMMAND, MEDIUM_BYTES);
    }
  }

  say(`measuring: ${rounds} rounds`);
  const loads: number[] = [loadavg()[0]!];
  const runnable: number[] = [];
  const stat0 = parseCpuLine(readFileSync('/proc/stat', 'utf8'));
  const t0 = Date.now();
  for (let r = 0; r < rounds; r++) {
    await phase((s) => s.trueSeries, truePerRound, ['true']);
    await phase((s) => s.mediumSeries, mediumPerRound, MEDIUM_COMMAND, MEDIUM_BYTES);
    loads.push(loadavg()[0]!);
    // /proc/loadavg's 4th field: runnable scheduling entities now / all of them.
    runnable.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3]!.split('/')[0]));
  }
  const busy = busyShare(stat0, parseCpuLine(readFileSync('/proc/stat', 'utf8')));
  const seconds = (Date.now() - t0) / 1000;

  const rows: Comparison[] = [
    { label: 'exec ["true"]', base: base.trueSeries, current: current.trueSeries },
    {
      label: 'exec seq 1 20000 (106 KiB stdout)',
      base: base.mediumSeries,
      current: current.mediumSeries,
    },
  ];
  const ratio = (c: Comparison) => median(allSamples(c.current)) / median(allSamples(c.base));
  const rTrue = ratio(rows[0]!);
  console.log(
    [
      `exec round trip: base ${baseSha} (${baseRef}) vs current ${currentSha}${dirty ? ' + uncommitted changes' : ''} — ${new Date().toISOString()}`,
      `${rounds} rounds of ${truePerRound} × true then ${mediumPerRound} × seq per side, sequential, alternating side at every exec (A,B then B,A),` +
        ` after ${warmup} warm-up execs of each; one minimal-shell sandbox per side${sameImage ? ' (same image directory in both trees)' : ' (IMAGE DIRECTORIES DIFFER)'}`,
      `base: no authentication (its up has none); current: the admin API key its up creates`,
      '',
      comparisonTable(rows),
      '',
      'CPU per exec (router: its process, all threads; sandbox: the container cgroup)',
      cpuTable(rows),
      '',
      `machine: ${execFileSync('nproc', { encoding: 'utf8' }).trim()} CPUs; 1-min load average ${loadSummary(loads)};` +
        ` runnable now ${runnable.length ? `${Math.min(...runnable)}–${Math.max(...runnable)}` : 'n/a'};` +
        ` all CPUs ${(busy * 100).toFixed(0)}% busy over the ${seconds.toFixed(0)} s of rounds`,
      '',
      `verdict: exec ["true"] current/base ${rTrue.toFixed(3)}× — ${rTrue <= 1.1 ? 'within' : 'MORE than'} 10% of the base median`,
    ].join('\n'),
  );
} catch (err) {
  process.exitCode = 1;
  say(`failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  say('cleaning up');
  await cleanup();
  say('done');
}
