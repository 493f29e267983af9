import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox } from '@agenttier/contract';
import {
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_SANDBOX,
  LABEL_SANDBOX_UID,
  PlatformError,
  isPlatformError,
} from '@agenttier/contract';
import type {
  ChildOutcome,
  EffectiveSandbox,
  ObservedSandbox,
  OwnedChild,
  Runtime,
  WorkloadState,
} from '@agenttier/core';
import { volumeName, workloadName } from '@agenttier/core';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import type { SandboxdMounts } from './container-spec.ts';
import {
  LABEL_INSTANCE,
  SANDBOX_UID,
  buildContainerSpec,
  engineRuntimeFor,
  ownerLabels,
} from './container-spec.ts';
import { hasLabels, isNameConflict, isNotFound, statusOf } from './docker-client.ts';

export interface DockerRuntimeOpts {
  docker: Docker;
  /** Identifies this install; only children carrying it are observed or collected. */
  instanceId: string;
  /** Host directory holding one run dir (socket + token) per sandbox. */
  runRoot: string;
  sandboxd?: SandboxdMounts;
  /** Answers whether the sandbox's daemon is serving; without it a running container counts as ready. */
  readinessProbe?: (sandbox: Sandbox, runDir: string) => Promise<boolean>;
  /**
   * A running container whose daemon has not answered for this long counts as ready anyway (engine-exec
   * fallback for images sandboxd cannot run in). @default 15000
   */
  probeGiveUpMs?: number;
  runtimeClasses?: Record<string, string>;
  /** Seconds a stopping container gets to exit after SIGTERM. @default 3 */
  stopGraceSec?: number;
  /**
   * Called right after each change this runtime makes in the engine, before it does anything else.
   * Fault injection for crash-recovery tests (they end the process at a chosen step); nothing else.
   */
  onStep?: (step: RuntimeStep, sandbox: Sandbox) => void;
}

/**
 * The changes the runtime makes in the engine, in the order a sandbox's life goes through them. A
 * crash can come between any two: the controller must converge from each (docs/reliability.md).
 */
export const RUNTIME_STEPS = [
  'volume-created',
  'container-created',
  'container-started',
  'container-stopped',
  'container-removed',
  'volume-removed',
] as const;
export type RuntimeStep = (typeof RUNTIME_STEPS)[number];

/**
 * The engine's container state as core's planner sees it. Docker and Podman report `State.Status` as
 * one of created, running, paused, restarting, removing, exited or dead (Podman also says "configured"
 * and "stopped" for created and exited); the booleans are checked first because they are what older
 * engines fill reliably.
 */
export function workloadStateOf(state: ContainerInspectInfo['State']): WorkloadState {
  if (state.Dead) return 'dead';
  if (state.Paused) return 'paused';
  if (state.Restarting) return 'restarting';
  if (state.Running) return 'running';
  switch (state.Status) {
    case 'created':
    case 'configured':
      return 'created';
    case 'exited':
    case 'stopped':
      return 'exited';
    case 'removing':
      return 'removing';
    case 'dead':
      return 'dead';
    default:
      return 'other';
  }
}

/** The local Runtime on the Docker Engine API: a container plus a named volume per sandbox. */
export class DockerRuntime implements Runtime {
  constructor(private readonly opts: DockerRuntimeOpts) {}

  runDir(sandbox: Sandbox): string {
    return join(
      this.opts.runRoot,
      sandbox.metadata.uid ?? `${sandbox.metadata.namespace}-${sandbox.metadata.name}`,
    );
  }

  tokenPath(sandbox: Sandbox): string {
    return join(this.runDir(sandbox), 'token');
  }

  socketPath(sandbox: Sandbox): string {
    return join(this.runDir(sandbox), 'sandboxd.sock');
  }

  get sandboxdEnabled(): boolean {
    return this.opts.sandboxd !== undefined;
  }

  async observe(sandbox: Sandbox): Promise<ObservedSandbox> {
    const out: ObservedSandbox = {};
    try {
      const info = await this.opts.docker.getContainer(workloadName(sandbox)).inspect();
      const uid = info.Config.Labels?.[LABEL_SANDBOX_UID];
      const state = workloadStateOf(info.State);
      let ready = false;
      if (state === 'running' && uid === sandbox.metadata.uid) {
        ready = this.opts.readinessProbe
          ? await this.opts.readinessProbe(sandbox, this.runDir(sandbox)).catch(() => false)
          : true;
        if (!ready && Date.now() - Date.parse(info.State.StartedAt) > (this.opts.probeGiveUpMs ?? 15_000)) {
          ready = true;
        }
      }
      const ended = state === 'exited' || state === 'dead';
      out.workload = {
        name: workloadName(sandbox),
        state,
        ready,
        ...(ended ? { exitCode: info.State.ExitCode } : {}),
        ...(info.State.Error ? { message: info.State.Error } : {}),
        ...(uid ? { sandboxUid: uid } : {}),
      };
      // A container left over from an earlier sandbox of the same name is not ours: treat it as exited
      // so ensureWorkload replaces it.
      // (A container the engine is already removing is left to finish: it cannot be replaced before.)
      if (uid !== sandbox.metadata.uid && state !== 'removing') out.workload.state = 'exited';
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      const info = await this.opts.docker.getVolume(volumeName(sandbox)).inspect();
      const uid = info.Labels?.[LABEL_SANDBOX_UID];
      out.volume = { name: volumeName(sandbox), sandboxUid: uid ?? '' };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return out;
  }

  async ensureVolume(sandbox: Sandbox, effective: EffectiveSandbox): Promise<ChildOutcome> {
    try {
      const info = await this.opts.docker.getVolume(volumeName(sandbox)).inspect();
      const owner = info.Labels?.[LABEL_SANDBOX_UID];
      if (owner !== sandbox.metadata.uid) {
        // Not CONFLICT: that code means a stale store write and is retried at once.
        throw new PlatformError(
          'ALREADY_EXISTS',
          owner
            ? `volume ${volumeName(sandbox)} belongs to another sandbox; waiting until it is collected as an orphan`
            : `volume ${volumeName(sandbox)} exists but was not made by AgentTier; remove it (docker volume rm ${volumeName(sandbox)}) or use another sandbox name`,
        );
      }
      return 'unchanged';
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // Creating an existing volume is a no-op in Docker, so a crash between create and label check is safe.
    await this.opts.docker.createVolume({
      Name: volumeName(sandbox),
      Labels: ownerLabels(sandbox, this.opts.instanceId, effective.templateName),
    });
    this.opts.onStep?.('volume-created', sandbox);
    return 'created';
  }

  private prepareRunDir(sandbox: Sandbox): string {
    const dir = this.runDir(sandbox);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const token = join(dir, 'token');
    if (!existsSync(token)) writeFileSync(token, randomBytes(32).toString('base64url'), { mode: 0o400 });
    if (process.getuid?.() === 0) {
      chownSync(dir, SANDBOX_UID, SANDBOX_UID);
      chownSync(token, SANDBOX_UID, SANDBOX_UID);
    }
    rmSync(join(dir, 'sandboxd.sock'), { force: true });
    return dir;
  }

  async ensureWorkload(sandbox: Sandbox, effective: EffectiveSandbox): Promise<ChildOutcome> {
    const name = workloadName(sandbox);
    const container = this.opts.docker.getContainer(name);
    try {
      const info = await container.inspect();
      const ours = info.Config.Labels?.[LABEL_SANDBOX_UID] === sandbox.metadata.uid;
      if (ours && info.State.Paused) {
        // Someone paused it behind our back (`docker pause`): the sandbox is meant to run.
        await container.unpause();
        return 'started';
      }
      if (ours && info.State.Running) return 'unchanged';
      if (ours && info.State.Status === 'created' && this.runtimeHonoured(info, effective)) {
        await container.start();
        this.opts.onStep?.('container-started', sandbox);
        return 'started';
      }
      // Exited, dead or someone else's: a resumed sandbox always gets a fresh container.
      await container.remove({ force: true, v: false });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const spec = buildContainerSpec({
      sandbox,
      effective,
      instanceId: this.opts.instanceId,
      runDir: this.prepareRunDir(sandbox),
      ...(this.opts.sandboxd ? { sandboxd: this.opts.sandboxd } : {}),
      ...(this.opts.runtimeClasses ? { runtimeClasses: this.opts.runtimeClasses } : {}),
    });
    try {
      const created = await this.opts.docker.createContainer(spec);
      this.opts.onStep?.('container-created', sandbox);
      if (spec.HostConfig?.Runtime && !this.runtimeHonoured(await created.inspect(), effective)) {
        await created.remove({ force: true }).catch(() => undefined);
        throw new PlatformError(
          'UNPROCESSABLE',
          `runtime class "${effective.runtimeClass}" needs the engine runtime "${spec.HostConfig.Runtime}", but this ` +
            "engine ignored it (Podman's Docker-compatible API cannot choose an OCI runtime); refusing to run the " +
            'sandbox without that isolation. Use a Docker engine with the runtime registered (scripts/engine.sh registers runsc).',
        );
      }
      await created.start();
      this.opts.onStep?.('container-started', sandbox);
      return 'created';
    } catch (err) {
      if (isPlatformError(err)) throw err;
      // A concurrent reconcile created it; the next pass observes it.
      if (isNameConflict(err)) return 'unchanged';
      if (statusOf(err) === 400 && /unknown runtime/i.test((err as Error).message)) {
        throw new PlatformError(
          'UNPROCESSABLE',
          `runtime class "${effective.runtimeClass}" needs the engine runtime "${spec.HostConfig?.Runtime}", which this ` +
            "engine does not have; register it in the engine's daemon.json (scripts/engine.sh registers runsc for gVisor)",
          { cause: err },
        );
      }
      if (statusOf(err) === 404) {
        throw new PlatformError(
          'RUNTIME_FAILED',
          `image ${effective.image} is not available in the engine; build it with \`npm run images\` (scripts/images.sh) or set the template image`,
          { cause: err },
        );
      }
      throw new PlatformError('RUNTIME_FAILED', `could not start the container: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Whether a container runs on the engine runtime its runtime class asks for. Docker refuses an unknown
   * runtime, but Podman's compatible API accepts any name and runs the engine default ("oci") instead.
   */
  private runtimeHonoured(info: ContainerInspectInfo, effective: EffectiveSandbox): boolean {
    const wanted = engineRuntimeFor(effective, this.opts.runtimeClasses);
    return !wanted || info.HostConfig.Runtime === wanted;
  }

  async removeWorkload(sandbox: Sandbox): Promise<ChildOutcome> {
    const container = this.opts.docker.getContainer(workloadName(sandbox));
    try {
      await container.stop({ t: this.opts.stopGraceSec ?? 3 }).catch((err: unknown) => {
        if (statusOf(err) !== 304 && !isNotFound(err)) throw err;
      });
      this.opts.onStep?.('container-stopped', sandbox);
      await container.remove({ force: true, v: false });
      this.opts.onStep?.('container-removed', sandbox);
      return 'deleted';
    } catch (err) {
      if (isNotFound(err)) return 'unchanged';
      throw err;
    }
  }

  async removeVolume(sandbox: Sandbox): Promise<ChildOutcome> {
    rmSync(this.runDir(sandbox), { recursive: true, force: true });
    try {
      await this.opts.docker.getVolume(volumeName(sandbox)).remove();
      this.opts.onStep?.('volume-removed', sandbox);
      return 'deleted';
    } catch (err) {
      if (isNotFound(err)) return 'unchanged';
      throw err;
    }
  }

  async listOwned(): Promise<OwnedChild[]> {
    const label = [`${LABEL_MANAGED}=true`, `${LABEL_INSTANCE}=${this.opts.instanceId}`];
    const filters = { label };
    const [containers, volumes] = await Promise.all([
      this.opts.docker.listContainers({ all: true, filters }),
      this.opts.docker.listVolumes({ filters }),
    ]);
    const out: OwnedChild[] = [];
    // Checked again here: Podman returns volumes matching ANY of the label filters, which would hand
    // another install's volumes to orphan collection.
    for (const c of containers.filter((c) => hasLabels(c.Labels, label))) {
      const labels = c.Labels ?? {};
      out.push({
        type: 'workload',
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
        sandboxUid: labels[LABEL_SANDBOX_UID] ?? '',
        sandboxName: labels[LABEL_SANDBOX] ?? '',
        namespace: labels[LABEL_NAMESPACE] ?? '',
      });
    }
    for (const v of (volumes.Volumes ?? []).filter((v) => hasLabels(v.Labels, label))) {
      const labels = v.Labels ?? {};
      out.push({
        type: 'volume',
        name: v.Name,
        sandboxUid: labels[LABEL_SANDBOX_UID] ?? '',
        sandboxName: labels[LABEL_SANDBOX] ?? '',
        namespace: labels[LABEL_NAMESPACE] ?? '',
      });
    }
    return out;
  }

  async removeOwned(child: OwnedChild): Promise<void> {
    try {
      if (child.type === 'workload') await this.opts.docker.getContainer(child.name).remove({ force: true });
      else {
        await this.opts.docker.getVolume(child.name).remove();
        if (child.sandboxUid)
          rmSync(join(this.opts.runRoot, child.sandboxUid), { recursive: true, force: true });
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
