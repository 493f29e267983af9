/**
 * What scripts/engine.sh's own-fs layout (data root on a loop-mounted ext4 image, dockerd in a mount
 * namespace of its own) costs next to the old layout (data root a directory on the host's disk), side
 * by side in one run against two engines that hold the same image:
 *
 *   1. container create + start (the sandbox's settings: network none, read-only root, init, uid 1000)
 *   2. Engine API exec round trip of `true` (create, start, wait for the end, inspect)
 *   3. a synced 256 MiB write into a plain engine volume (on the engine's filesystem in the new layout)
 *
 * Rounds alternate which engine goes first. Start a second engine for the other layout, e.g.:
 *
 *   AGENTTIER_ENGINE_DIR=/run/agenttier-old AGENTTIER_ENGINE_DATA_ROOT=/var/lib/agenttier-old/docker \
 *     AGENTTIER_DOCKER_HOST=unix:///run/agenttier-old/docker.sock AGENTTIER_ENGINE_LAYOUT=shared-fs \
 *     bash scripts/engine.sh
 *   BENCH_OLD_HOST=unix:///run/agenttier-old/docker.sock BENCH_NEW_HOST=unix:///run/agenttier/docker.sock \
 *     npx tsx bench/engine-layout.ts
 *
 * Knobs: BENCH_ROUNDS (4), BENCH_CREATES per round (5), BENCH_EXECS per round (30), BENCH_IMAGE.
 */
import { createDockerClient } from '@agenttier/platform-local';
import { row, timeMs } from './stats.ts';

type Engine = ReturnType<typeof createDockerClient>;
type Container = Awaited<ReturnType<Engine['createContainer']>>;

const image = process.env.BENCH_IMAGE ?? 'agenttier/minimal-shell:dev';
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const creates = Number(process.env.BENCH_CREATES ?? 5);
const execs = Number(process.env.BENCH_EXECS ?? 30);
const hosts = {
  old: process.env.BENCH_OLD_HOST ?? '',
  new: process.env.BENCH_NEW_HOST ?? 'unix:///run/agenttier/docker.sock',
};
if (!hosts.old) throw new Error('set BENCH_OLD_HOST to an engine with the old layout (see the header)');

type Side = keyof typeof hosts;
const engines: Record<Side, Engine> = {
  old: createDockerClient(hosts.old),
  new: createDockerClient(hosts.new),
};
const samples = (): Record<Side, number[]> => ({ old: [], new: [] });
const createStart = samples();
const execTrip = samples();
const writeMs = samples();

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
    stream.resume();
  });
}

async function execIn(docker: Engine, id: string, cmd: string[]): Promise<void> {
  const ex = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  await drain(await ex.start({ hijack: true, stdin: false }));
  const info = await ex.inspect();
  if (info.ExitCode !== 0) throw new Error(`${cmd.join(' ')}: exit ${info.ExitCode}`);
}

function spec(volume?: string): Parameters<Engine['createContainer']>[0] {
  return {
    Image: image,
    Cmd: ['sleep', 'infinity'],
    User: '1000:1000',
    Labels: { 'agenttier.io/bench': 'engine-layout' },
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Init: true,
      Tmpfs: { '/tmp': 'size=64m' },
      ...(volume ? { Mounts: [{ Type: 'volume', Source: volume, Target: '/workspace' }] } : {}),
    },
  };
}

async function round(side: Side): Promise<void> {
  const docker = engines[side];
  const made: Container[] = [];
  try {
    for (let i = 0; i < creates; i++) {
      createStart[side].push(
        await timeMs(async () => {
          const c = await docker.createContainer(spec());
          made.push(c);
          await c.start();
        }),
      );
    }
    const target = made[0]!.id;
    for (let i = 0; i < execs; i++) execTrip[side].push(await timeMs(() => execIn(docker, target, ['true'])));
    const volume = `bench-engine-layout-${process.pid}`;
    await docker.createVolume({ Name: volume });
    const writer = await docker.createContainer(spec(volume));
    made.push(writer);
    await writer.start();
    await execIn(docker, writer.id, ['sh', '-c', 'chown 1000 /workspace 2>/dev/null; true']).catch(
      () => undefined,
    );
    writeMs[side].push(
      await timeMs(() =>
        execIn(docker, writer.id, [
          'sh',
          '-c',
          'dd if=/dev/zero of=/workspace/f bs=1M count=256 conv=fdatasync 2>/dev/null && rm /workspace/f',
        ]),
      ),
    );
  } finally {
    for (const c of made) await c.remove({ force: true, v: true }).catch(() => undefined);
    await docker
      .getVolume(`bench-engine-layout-${process.pid}`)
      .remove()
      .catch(() => undefined);
  }
}

for (const side of ['old', 'new'] as const) {
  const info = (await engines[side].info()) as { DockerRootDir: string; Labels?: string[] };
  console.log(
    `${side}: ${hosts[side]} (data root ${info.DockerRootDir}; labels ${JSON.stringify(info.Labels ?? [])})`,
  );
  await engines[side].getImage(image).inspect(); // both must hold the image: nothing is pulled
}
for (let r = 0; r < rounds; r++) {
  const order: Side[] = r % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
  for (const side of order) await round(side);
}
console.log(`\ncontainer create + start (${rounds}×${creates}; ratio new vs old)`);
console.log(row('  old layout (data root on the host disk)', createStart.old));
console.log(row('  own-fs layout (loop ext4, own namespace)', createStart.new, createStart.old));
console.log(`\nEngine API exec round trip, true (${rounds}×${execs})`);
console.log(row('  old layout', execTrip.old));
console.log(row('  own-fs layout', execTrip.new, execTrip.old));
console.log(`\nsynced 256 MiB write into a plain volume (${rounds}×1)`);
console.log(row('  old layout', writeMs.old));
console.log(row('  own-fs layout', writeMs.new, writeMs.old));
