/**
 * AgentTier benchmarks, side by side with the raw engine in one run (ratios, not absolute claims):
 *   1. create request → first successful exec   vs  `docker run -d` → first successful `docker exec`
 *   2. exec round trip through the REST API      vs  `docker exec` (CLI), the Engine API's exec (no CLI)
 *      and a bare local process spawn
 * Run: `npm run bench` (needs the engine and images: `npm run up` once, or scripts/engine.sh + images.sh).
 *   3. agent invoke overhead: time to `start` and to the first `log` line of /invoke, next to running the
 *      same entrypoint with a streaming exec (first stdout chunk) and a unary exec (complete result)
 *   4. N creates at once → every one answers an exec  vs  N parallel `docker run -d` → each answers an exec
 *   5. read throughput with API keys: authenticated `GET /api/v1/sandboxes/{name}` (a user's key: key
 *      check, access rule, one store read) vs `GET /healthz` (no authentication), requests per second
 *      from a separate load process (BENCH_THROUGHPUT_MS per row, default 5000; BENCH_CONNECTIONS, 32)
 * Env: BENCH_CREATES (default 8), BENCH_EXECS (default 60), BENCH_INVOKES (default 20),
 * BENCH_CONCURRENT (default 20) and BENCH_CONCURRENT_ROUNDS (default 3); BENCH_SECTIONS picks sections
 * (comma-separated of create, exec, invoke, concurrent, throughput; default all).
 */
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { LoopWorkspaces, createDockerClient } from '@agenttier/platform-local';
import { startLocalPlatform } from '@agenttier/local';
import { median, row, timeMs } from './stats.ts';

const run = promisify(execFile);
const dockerHost = process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock';
const image = 'agenttier/minimal-shell:dev';
const creates = Number(process.env.BENCH_CREATES ?? 8);
const execs = Number(process.env.BENCH_EXECS ?? 60);
const invokes = Number(process.env.BENCH_INVOKES ?? 20);
const concurrent = Number(process.env.BENCH_CONCURRENT ?? 20);
const concurrentRounds = Number(process.env.BENCH_CONCURRENT_ROUNDS ?? 3);
const sections = new Set(
  (process.env.BENCH_SECTIONS ?? 'create,exec,invoke,concurrent,throughput').split(','),
);
const throughputMs = Number(process.env.BENCH_THROUGHPUT_MS ?? 5000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const docker = (...args: string[]) => run('docker', ['-H', dockerHost, ...args]);
const engine = createDockerClient(dockerHost);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RAW_RUN_ARGS = ['--network', 'none', '--read-only', '--user', '1000', image, 'sleep', 'infinity'];

/** `n` timings of `fn`, one call after the other (a Response's body is read to its end). */
async function series(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await timeMs(async () => {
        const r = await fn();
        if (r instanceof Response) await r.arrayBuffer();
      }),
    );
  }
  return out;
}

/** One Engine API exec of `true` in a container (no CLI start-up); throws until it can run. */
async function engineExecTrue(container: string): Promise<void> {
  const ex = await engine
    .getContainer(container)
    .exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true });
  const stream = await ex.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
    stream.resume();
  });
  const info = await ex.inspect();
  if (info.ExitCode !== 0) throw new Error(`exit ${info.ExitCode}`);
}

const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-bench-'));
const platform = await startLocalPlatform({
  port: 0,
  dataDir,
  dockerHost,
  logger: pino({ level: 'silent' }),
  devAuth: true, // measures the platform, not key checks
});
const base = `${platform.url}/api/v1`;
const post = (path: string, body?: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });

interface Throughput {
  perSec: number;
  cpuUsPerReq: number;
}

/**
 * Requests per second one GET sustains, measured by bench/http-load.ts in its own process, and the
 * router's CPU time per request (this process: user + system), which a loaded machine distorts less
 * than wall time: 1 s divided by it is what one free core would serve.
 */
async function throughput(url: string, headers: Record<string, string>): Promise<Throughput> {
  const cpu0 = process.cpuUsage();
  const child = fork(
    new URL('./http-load.ts', import.meta.url),
    [JSON.stringify({ url, headers, durationMs: throughputMs, connections })],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const r = JSON.parse(out) as { requests: number; seconds: number; statuses: Record<string, number> };
  const bad = Object.entries(r.statuses).filter(([s]) => s !== '200');
  if (code !== 0 || bad.length)
    throw new Error(`load on ${url}: exit ${code}, statuses ${JSON.stringify(r.statuses)}`);
  const cpu = process.cpuUsage(cpu0);
  return { perSec: r.requests / r.seconds, cpuUsPerReq: (cpu.user + cpu.system) / r.requests };
}

/**
 * CPU time (ms) the processes inside `container` have used so far (the engine's cgroup accounting):
 * what the container's own start cost, independent of how busy the rest of the machine is.
 */
async function containerCpuMs(container: string): Promise<number> {
  const stats = (await engine.getContainer(container).stats({ stream: false, 'one-shot': true } as {
    stream: false;
  })) as { cpu_stats?: { cpu_usage?: { total_usage?: number } } };
  return (stats.cpu_stats?.cpu_usage?.total_usage ?? NaN) / 1e6;
}

async function untilExecOk(name: string, pollMs = 20) {
  for (;;) {
    const res = await post(`/sandboxes/${name}/exec`, { command: 'true' });
    if (res.status === 200) return;
    await res.arrayBuffer();
    await sleep(pollMs);
  }
}

async function untilGone(name: string) {
  while ((await fetch(`${base}/sandboxes/${name}`)).status !== 404) await sleep(50);
}

/**
 * N creates at once, until every sandbox is Running (one list call every 50 ms, as a client waiting
 * for all of them would) and answers an exec, next to N parallel `docker run -d` of the same image and
 * settings until every container answers an Engine API exec (polled every 50 ms). Rounds alternate
 * which side goes first.
 */
async function concurrentCreates(
  round: number,
): Promise<{ at: number; raw: number; atCpu: number[]; rawCpu: number[] }> {
  const names = Array.from({ length: concurrent }, (_, i) => `bench-c${round}-${i}`);
  const rawNames = names.map((n) => `${n}-raw-${process.pid}`);
  const atSide = () =>
    timeMs(() =>
      Promise.all(
        names.map(async (name) => {
          const res = await post('/sandboxes', { name, templateRef: { name: 'minimal-shell' } });
          if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
        }),
      ).then(async () => {
        // Like a client waiting for N sandboxes: one list call per poll, then the first exec of each.
        for (;;) {
          const list = (await (await fetch(`${base}/sandboxes`)).json()) as {
            sandboxes: Array<{ name: string; status: string }>;
          };
          const running = new Set(list.sandboxes.filter((s) => s.status === 'Running').map((s) => s.name));
          if (names.every((n) => running.has(n))) break;
          await sleep(50);
        }
        await Promise.all(names.map((n) => untilExecOk(n, 50)));
      }),
    );
  const rawSide = () =>
    timeMs(() =>
      Promise.all(
        rawNames.map(async (name) => {
          await docker('run', '-d', '--name', name, ...RAW_RUN_ARGS);
          for (;;) {
            try {
              return await engineExecTrue(name);
            } catch {
              await sleep(50);
            }
          }
        }),
      ),
    );
  let at: number;
  let raw: number;
  if (round % 2 === 0) {
    at = await atSide();
    raw = await rawSide();
  } else {
    raw = await rawSide();
    at = await atSide();
  }
  // Read after both sides (each container has answered its exec by then and idles).
  const atCpu = await Promise.all(names.map((n) => containerCpuMs(`agenttier-default-${n}`)));
  const rawCpu = await Promise.all(rawNames.map(containerCpuMs));
  await Promise.all(names.map((n) => fetch(`${base}/sandboxes/${n}`, { method: 'DELETE' })));
  await docker('rm', '-f', ...rawNames);
  await Promise.all(names.map(untilGone));
  return { at, raw, atCpu, rawCpu };
}

try {
  console.log(
    `AgentTier bench — ${new Date().toISOString()} — ${creates} creates, ${execs} execs, image ${image}\n`,
  );
  // 1. Cold start to first exec.
  const atCreate: number[] = [];
  const rawCreate: number[] = [];
  for (let i = 0; i < (sections.has('create') ? creates : 0); i++) {
    const name = `bench-${i}`;
    atCreate.push(
      await timeMs(async () => {
        await (await post('/sandboxes', { name, templateRef: { name: 'minimal-shell' } })).arrayBuffer();
        await untilExecOk(name);
      }),
    );
    await fetch(`${base}/sandboxes/${name}`, { method: 'DELETE' });
    const raw = `bench-raw-${process.pid}-${i}`;
    rawCreate.push(
      await timeMs(async () => {
        await docker('run', '-d', '--name', raw, ...RAW_RUN_ARGS);
        for (;;) {
          try {
            await docker('exec', raw, 'true');
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }),
    );
    await docker('rm', '-f', raw);
  }

  // 4. Many creates at once (first: the machine is quietest before the other sections).
  const atConcurrent: number[] = [];
  const rawConcurrent: number[] = [];
  const atContainerCpu: number[] = [];
  const rawContainerCpu: number[] = [];
  for (let round = 0; round < (sections.has('concurrent') ? concurrentRounds : 0); round++) {
    const { at, raw, atCpu, rawCpu } = await concurrentCreates(round);
    atConcurrent.push(at);
    rawConcurrent.push(raw);
    atContainerCpu.push(...atCpu);
    rawContainerCpu.push(...rawCpu);
  }

  // 2. Exec round trip on one running sandbox / container.
  const atTrue: number[] = [];
  const atEcho: number[] = [];
  const rawTrue: number[] = [];
  const spawnTrue: number[] = [];
  const engineApiTrue: number[] = [];
  if (sections.has('exec')) {
    await (
      await post('/sandboxes', { name: 'bench-exec', templateRef: { name: 'minimal-shell' } })
    ).arrayBuffer();
    await untilExecOk('bench-exec');
    const raw = `bench-raw-exec-${process.pid}`;
    await docker('run', '-d', '--name', raw, ...RAW_RUN_ARGS);
    // One series at a time: dockerd keeps working for a few ms after each `docker exec` returns, and
    // on a small machine that trailing work would slow whichever measurement came next.
    atTrue.push(...(await series(execs, () => post('/sandboxes/bench-exec/exec', { command: ['true'] }))));
    atEcho.push(
      ...(await series(execs, () => post('/sandboxes/bench-exec/exec', { command: 'echo hello' }))),
    );
    spawnTrue.push(...(await series(execs, () => run('true'))));
    rawTrue.push(...(await series(execs, () => docker('exec', raw, 'true'))));
    // The engine's exec API without the docker CLI's own start-up: what a program driving Docker
    // directly (dockerode, as AgentTier's engine fallback does) pays per command.
    engineApiTrue.push(...(await series(execs, () => engineExecTrue(raw))));
    await docker('rm', '-f', raw);
    await fetch(`${base}/sandboxes/bench-exec`, { method: 'DELETE' });
  }

  // 3. Agent invoke overhead.
  const toStart: number[] = [];
  const toFirstLog: number[] = [];
  const streamFirst: number[] = [];
  const unary: number[] = [];
  if (sections.has('invoke')) {
    await (
      await post('/sandboxes', { name: 'bench-agent', templateRef: { name: 'langgraph-agent' } })
    ).arrayBuffer();
    await untilExecOk('bench-agent');
    const entrypoint = ['python3', '/workspace/agent.py'];
    const agentPy = "import sys\nprint('hello ' + sys.stdin.read(), flush=True)\n";
    await (
      await post('/sandboxes/bench-agent/configure', {
        files: [{ path: '/workspace/agent.py', content: agentPy }],
        entrypoint,
      })
    ).text();
    for (let i = 0; i < invokes; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}/sandboxes/bench-agent/invoke`, { method: 'POST', body: 'bench' });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      let sawStart = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (!sawStart && text.includes('event: start')) {
          sawStart = true;
          toStart.push(performance.now() - t0);
        }
        if (text.includes('event: log')) {
          toFirstLog.push(performance.now() - t0);
          break;
        }
      }
      await reader.cancel().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50)); // let the run finish before the next one
      const s0 = performance.now();
      const sres = await post('/sandboxes/bench-agent/exec/stream', { command: entrypoint, stdin: 'bench' });
      const sreader = sres.body!.getReader();
      let stext = '';
      for (;;) {
        const { value, done } = await sreader.read();
        if (done) break;
        stext += new TextDecoder().decode(value);
        if (stext.includes('event: stdout')) {
          streamFirst.push(performance.now() - s0);
          break;
        }
      }
      await sreader.cancel().catch(() => undefined);
      unary.push(
        await timeMs(async () =>
          (await post('/sandboxes/bench-agent/exec', { command: entrypoint, stdin: 'bench' })).json(),
        ),
      );
    }
    await fetch(`${base}/sandboxes/bench-agent`, { method: 'DELETE' });
  }

  // 5. Read throughput with authentication, next to an unauthenticated route, in this one run.
  const rps: { healthz?: Throughput; get?: Throughput } = {};
  if (sections.has('throughput')) {
    // A user (not the dev admin): their key is checked, the access rule and ownership too.
    const keyRes = await post('/user/api-keys', { name: 'bench', user: { id: 'bench-user' } });
    const { key } = (await keyRes.json()) as { key: string };
    const created = await fetch(`${base}/sandboxes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ name: 'bench-read', templateRef: { name: 'minimal-shell' } }),
    });
    if (created.status !== 201)
      throw new Error(`create bench-read: ${created.status} ${await created.text()}`);
    rps.healthz = await throughput(`${platform.url}/healthz`, {});
    rps.get = await throughput(`${base}/sandboxes/bench-read`, { 'x-api-key': key });
    await fetch(`${base}/sandboxes/bench-read`, { method: 'DELETE' });
  }

  if (rps.get !== undefined && rps.healthz !== undefined) {
    console.log(
      `read throughput, ${connections} keep-alive connections, ${throughputMs / 1000} s each (ratio vs /healthz)`,
    );
    const line = (label: string, r: Throughput) =>
      `  ${label.padEnd(42)} ${r.perSec.toFixed(0).padStart(7)} req/s ${(r.perSec / rps.healthz!.perSec).toFixed(2).padStart(6)}×` +
      `   router CPU ${r.cpuUsPerReq.toFixed(0).padStart(5)} µs/req (${(1e6 / r.cpuUsPerReq).toFixed(0)} req/s per free core)`;
    console.log(line('GET /healthz (no authentication)', rps.healthz));
    console.log(line('GET /api/v1/sandboxes/{name} (API key)', rps.get));
    console.log('');
  }
  if (atConcurrent.length) {
    console.log(
      `${concurrent} creates at once → all answer an exec (ratio vs ${concurrent} parallel docker run -d)`,
    );
    console.log(row(`  ${concurrent}× docker run -d + first exec (raw)`, rawConcurrent));
    console.log(row(`  ${concurrent}× AgentTier POST /sandboxes + first /exec`, atConcurrent, rawConcurrent));
    console.log(
      'CPU used inside each container by then (cgroup accounting; sandboxd and its start-up vs sleep)',
    );
    console.log(row('  docker run -d container (raw)', rawContainerCpu));
    console.log(row('  AgentTier sandbox container', atContainerCpu, rawContainerCpu));
    console.log('');
  }
  if (atCreate.length) {
    console.log('create → first successful exec (ratio vs raw engine)');
    console.log(row('  docker run -d + first docker exec (raw)', rawCreate));
    console.log(row('  AgentTier POST /sandboxes + first /exec', atCreate, rawCreate));
  }
  if (atTrue.length) {
    console.log('\nexec round trip (ratio vs docker exec)');
    console.log(row('  bare local process spawn (true)', spawnTrue, rawTrue));
    console.log(row('  docker exec true (raw CLI)', rawTrue, rawTrue));
    console.log(row('  Engine API exec true (dockerode, no CLI)', engineApiTrue, rawTrue));
    console.log(row('  AgentTier POST /exec ["true"]', atTrue, rawTrue));
    console.log(row('  AgentTier POST /exec "echo hello" (via sh)', atEcho, rawTrue));
  }
  if (toStart.length) {
    console.log('\nagent invoke overhead (ratio vs streaming exec of the same entrypoint, first output)');
    console.log(row('  POST /exec/stream → first stdout chunk', streamFirst, streamFirst));
    console.log(row('  POST /invoke → `start` event', toStart, streamFirst));
    console.log(row('  POST /invoke → first `log` line', toFirstLog, streamFirst));
    console.log(row('  POST /exec (unary, whole run)', unary, streamFirst));
  }
  const summary = [
    atConcurrent.length
      ? `${concurrent} creates at once ${(median(atConcurrent) / median(rawConcurrent)).toFixed(2)}× raw`
      : '',
    atCreate.length ? `create→exec ${(median(atCreate) / median(rawCreate)).toFixed(2)}× raw` : '',
    rps.get !== undefined
      ? `authenticated GET ${rps.get.perSec.toFixed(0)} req/s (${(rps.get.perSec / rps.healthz!.perSec).toFixed(2)}× /healthz)`
      : '',
    atTrue.length
      ? `exec ${(median(rawTrue) / median(atTrue)).toFixed(1)}× faster than docker exec, ${(median(engineApiTrue) / median(atTrue)).toFixed(1)}× faster than the Engine API's exec`
      : '',
  ].filter(Boolean);
  console.log(`\nsummary: ${summary.join('; ')}`);
} finally {
  await platform.close();
  // Deletes above may not have finished: release loop-mounted workspaces before removing the dir.
  const workspaces = new LoopWorkspaces(join(dataDir, 'workspaces'));
  for (const uid of await workspaces.list()) await workspaces.release(uid).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}
