import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Sandbox } from '@agenttier/contract';
import {
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_SANDBOX,
  LABEL_SANDBOX_UID,
  PlatformError,
  isPlatformError,
  parseBytes,
} from '@agenttier/contract';
import type {
  ChildOutcome,
  EffectiveSandbox,
  Logger,
  ObservedSandbox,
  OwnedChild,
  Runtime,
  WorkloadState,
} from '@agenttier/core';
import { TerminalError, credentialEnv, credentialProblems, volumeName, workloadName } from '@agenttier/core';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import type { SandboxdMounts } from './container-spec.ts';
import {
  LABEL_INSTANCE,
  LABEL_SANDBOXD_TOKEN,
  RUN_MOUNT,
  SANDBOX_UID,
  SANDBOXD_SOCKET_NAME,
  SANDBOXD_TOKEN_ENV,
  SANDBOXD_TOKEN_FILE_NAME,
  buildContainerSpec,
  engineRuntimeFor,
  ownerLabels,
} from './container-spec.ts';
import { hasLabels, isNameConflict, isNotFound, statusOf } from './docker-client.ts';
import type { CredentialFile, SecretResolver } from './credential-files.ts';
import { credentialFilesOf, credentialOwner, credentialTar, fileCredentials } from './credential-files.ts';
import type { HostPathOf } from './engine-host-paths.ts';
import type { LoopWorkspaces } from './loop-workspaces.ts';
import { whenFileAppears } from './socket-appearance.ts';

export interface DockerRuntimeOpts {
  docker: Docker;
  /** Identifies this install; only children carrying it are observed or collected. */
  instanceId: string;
  sandboxd?: SandboxdMounts;
  /** Answers whether the sandbox's daemon is serving; without it a running container counts as ready. */
  readinessProbe?: (sandbox: Sandbox) => Promise<boolean>;
  /**
   * A running container whose daemon has not answered for this long counts as ready anyway (engine-exec
   * fallback for images sandboxd cannot run in). @default 15000
   */
  probeGiveUpMs?: number;
  runtimeClasses?: Record<string, string>;
  /**
   * Where the engine's volume directories are on this host, when the engine sees its data root at a
   * path of its own (engineHostPaths; scripts/engine.sh's own-fs layout). @default the same paths
   */
  hostPathOf?: HostPathOf;
  /**
   * Size-limited workspaces (storage.size enforced by a loop-mounted ext4 image per sandbox); without
   * it a workspace is a plain engine volume that may fill the host's disk.
   */
  workspaces?: LoopWorkspaces;
  /** Seconds a stopping container gets to exit after SIGTERM. @default 3 */
  stopGraceSec?: number;
  /**
   * Called right after each change this runtime makes in the engine, before it does anything else.
   * Fault injection for crash-recovery tests (they end the process at a chosen step); nothing else.
   */
  onStep?: (step: RuntimeStep, sandbox: Sandbox) => void;
  /** Says when a stale child of an earlier incarnation is replaced. */
  logger?: Logger;
  /**
   * Called once when a container this runtime started has its sandboxd socket in place (sandboxd
   * enabled only), so the controller can look at the sandbox at once instead of at its next readiness
   * poll. A hint: readiness is still decided by `readinessProbe`.
   */
  onSandboxdListening?: (sandbox: Sandbox) => void;
  /**
   * The sandbox owner's secret values, for `credentials` (docs/security.md, "Credentials"); without it
   * a sandbox that references a secret cannot start (Error phase naming the reason).
   */
  secretValues?: SecretResolver;
}

/** How long after a start the runtime watches for the daemon's socket (past it, polls alone find it). */
const SOCKET_WATCH_MS = 60_000;

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

/**
 * How the router reaches one container's sandboxd. Everything here comes from the router's memory or from
 * the engine's answer about the container, never from a file the sandbox could have touched.
 */
export interface SandboxdChannel {
  /** A new start is a new container, so a new channel and a new token. */
  containerId: string;
  /** Host side of the container's run volume (RUN_MOUNT), as the engine reports it. */
  hostRunDir: string;
  /** Bearer token sandboxd in this container accepts; unique per sandbox and per start. */
  token: string;
}

/** The local Runtime on the Docker Engine API: a container plus a named volume per sandbox. */
export class DockerRuntime implements Runtime {
  /** By sandbox uid. */
  private readonly channels = new Map<string, SandboxdChannel>();
  /** Socket watches of containers just started, by sandbox uid. */
  private readonly socketWatches = new Map<string, { close(): void }>();
  /** The container whose file credentials are in place, by sandbox uid (redone after a router restart). */
  private readonly credentialsDelivered = new Map<string, string>();

  constructor(private readonly opts: DockerRuntimeOpts) {}

  get sandboxdEnabled(): boolean {
    return this.opts.sandboxd !== undefined;
  }

  /** The channel to the sandbox's current container, when one is known (learnt at create or observe). */
  channel(sandbox: Sandbox): SandboxdChannel | undefined {
    return this.channels.get(channelKey(sandbox));
  }

  /**
   * Learns the channels of this install's running containers from the engine (after a router restart the
   * tokens are only there: in each container's configuration, which the sandbox cannot change).
   */
  async loadChannels(): Promise<void> {
    if (!this.opts.sandboxd) return;
    const label = [`${LABEL_MANAGED}=true`, `${LABEL_INSTANCE}=${this.opts.instanceId}`];
    const containers = await this.opts.docker.listContainers({ filters: { label } });
    for (const c of containers.filter((c) => hasLabels(c.Labels, label))) {
      const uid = c.Labels?.[LABEL_SANDBOX_UID];
      if (!uid) continue;
      try {
        this.learnChannel(uid, await this.opts.docker.getContainer(c.Id).inspect());
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** The host path of the container's run volume, from the engine's answer (never from the sandbox). */
  private runVolumeOnHost(info: ContainerInspectInfo): string | undefined {
    const source = info.Mounts?.find((m) => m.Destination === RUN_MOUNT && m.Type === 'volume')?.Source;
    return source ? (this.opts.hostPathOf ?? ((p: string) => p))(source) : undefined;
  }

  private learnChannel(uid: string, info: ContainerInspectInfo): SandboxdChannel | undefined {
    if (info.Config.Labels?.[LABEL_SANDBOX_UID] !== uid) return undefined;
    const prefix = `${SANDBOXD_TOKEN_ENV}=`;
    const token =
      info.Config.Labels?.[LABEL_SANDBOXD_TOKEN] ??
      info.Config.Env?.find((e) => e.startsWith(prefix))?.slice(prefix.length);
    const hostRunDir = this.runVolumeOnHost(info);
    if (!token || !hostRunDir) {
      this.channels.delete(uid);
      return undefined;
    }
    const known = this.channels.get(uid);
    if (known?.containerId === info.Id) return known;
    const channel = { containerId: info.Id, hostRunDir, token };
    this.channels.set(uid, channel);
    return channel;
  }

  async observe(sandbox: Sandbox): Promise<ObservedSandbox> {
    const out: ObservedSandbox = {};
    try {
      const info = await this.opts.docker.getContainer(workloadName(sandbox)).inspect();
      const uid = info.Config.Labels?.[LABEL_SANDBOX_UID];
      const state = workloadStateOf(info.State);
      let ready = false;
      let credentialProblem: string | undefined;
      if (state === 'running' && uid === sandbox.metadata.uid) {
        if (this.opts.sandboxd) this.learnChannel(channelKey(sandbox), info);
        // Never ready before its credential files are in place (delivered again after a router restart).
        credentialProblem = await this.deliverCredentialFiles(
          sandbox,
          info.Id,
          credentialFilesOf(info.Config.Labels),
        )
          .then(() => undefined)
          .catch((err: unknown) => (err as Error).message);
        if (!credentialProblem) {
          ready = this.opts.readinessProbe
            ? await this.opts.readinessProbe(sandbox).catch(() => false)
            : true;
          if (!ready && Date.now() - Date.parse(info.State.StartedAt) > (this.opts.probeGiveUpMs ?? 15_000)) {
            ready = true;
          }
        }
      }
      const ended = state === 'exited' || state === 'dead';
      out.workload = {
        name: workloadName(sandbox),
        state,
        ready,
        ...(ended ? { exitCode: info.State.ExitCode } : {}),
        ...(info.State.Error ? { message: info.State.Error } : {}),
        ...(credentialProblem ? { message: credentialProblem } : {}),
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
      // A workspace image (or a bare mount point) without its engine volume: a crash between making the
      // image and the volume, or between removing the volume and releasing the image. Reported so the planner finishes
      // whichever it was (ensureVolume, or removeVolume before the finalizer goes).
      const uid = sandbox.metadata.uid;
      if (this.opts.workspaces && uid && (await this.opts.workspaces.holdsAnything(uid))) {
        out.volume = { name: volumeName(sandbox), sandboxUid: uid, incomplete: true };
      }
    }
    return out;
  }

  async ensureVolume(sandbox: Sandbox, effective: EffectiveSandbox): Promise<ChildOutcome> {
    try {
      const info = await this.opts.docker.getVolume(volumeName(sandbox)).inspect();
      const owner = info.Labels?.[LABEL_SANDBOX_UID];
      if (owner === sandbox.metadata.uid) {
        // A sandbox made before quotas were on keeps its plain volume; a quota volume needs its mount.
        await this.mountWorkspace(sandbox);
        return 'unchanged';
      }
      const claim = claimOf(info.Labels, sandbox);
      if (claim.kind !== 'stale') throw blockedBy('volume', volumeName(sandbox), claim);
      // The engine refuses to remove a volume a container still mounts: the stale container goes first.
      await this.removeStaleWorkload(sandbox);
      this.logStale(sandbox, 'volume', volumeName(sandbox), claim);
      await this.opts.docker
        .getVolume(volumeName(sandbox))
        .remove()
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const ws = this.opts.workspaces;
    const uid = sandbox.metadata.uid;
    let driverOpts: Record<string, string> | undefined;
    if (ws && uid) {
      const size = parseBytes(effective.storage.size);
      if (size === undefined) {
        throw new PlatformError('UNPROCESSABLE', `storage.size ${effective.storage.size} is not a quantity`);
      }
      // The engine's local driver binds the mounted filesystem: labels, listing and removal stay the
      // engine's, the size limit is the filesystem's.
      driverOpts = { type: 'none', o: 'bind', device: await ws.ensure(uid, size) };
    }
    // Creating an existing volume is a no-op in Docker, so a crash between create and label check is safe.
    await this.opts.docker.createVolume({
      Name: volumeName(sandbox),
      Labels: ownerLabels(sandbox, this.opts.instanceId, effective.templateName),
      ...(driverOpts ? { Driver: 'local', DriverOpts: driverOpts } : {}),
    });
    this.opts.onStep?.('volume-created', sandbox);
    return 'created';
  }

  /** Mounts the sandbox's workspace image again when it has one and it is not mounted (host restart). */
  private async mountWorkspace(sandbox: Sandbox): Promise<void> {
    const uid = sandbox.metadata.uid;
    if (this.opts.workspaces && uid && (await this.opts.workspaces.hasImage(uid))) {
      await this.opts.workspaces.ensureMounted(uid);
    }
  }

  /**
   * Gives the fresh run volume its owner: root (mode 0755) when agenttier-launch binds the socket, else
   * the sandbox user (the engine creates it root-owned). Only ever called
   * before the container first starts, so nothing of the sandbox's is in it yet; still by descriptor and
   * without following links, on the path the engine reported.
   */
  private async prepareRunVolume(info: ContainerInspectInfo): Promise<void> {
    if (!this.opts.sandboxd || process.getuid?.() !== 0) return;
    const source = this.runVolumeOnHost(info);
    if (!source) return;
    const dir = await open(
      source,
      constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
    try {
      if (this.opts.sandboxd.launch) {
        // agenttier-launch binds the socket here as root: the sandbox user must not be able to write it.
        await dir.chown(0, 0);
        await dir.chmod(0o755);
        const token = info.Config.Labels?.[LABEL_SANDBOXD_TOKEN];
        if (token) await writeTokenFile(dir.fd, token);
      } else {
        await dir.chown(SANDBOX_UID, SANDBOX_UID);
        await dir.chmod(0o700);
      }
    } finally {
      await dir.close();
    }
  }

  /** Learns the channel of a container that is about to start (sandboxd enabled only). */
  private async beforeStart(sandbox: Sandbox, info: ContainerInspectInfo): Promise<void> {
    if (!this.opts.sandboxd) return;
    await this.prepareRunVolume(info);
    this.learnChannel(channelKey(sandbox), info);
  }

  /** After a start: tells `onSandboxdListening` when the daemon's socket appears. */
  private afterStart(sandbox: Sandbox): void {
    const notify = this.opts.onSandboxdListening;
    const key = channelKey(sandbox);
    const channel = this.channels.get(key);
    if (!notify || !channel) return;
    this.socketWatches.get(key)?.close();
    const watch = whenFileAppears(
      channel.hostRunDir,
      SANDBOXD_SOCKET_NAME,
      () => {
        this.socketWatches.delete(key);
        notify(sandbox);
      },
      { maxWaitMs: SOCKET_WATCH_MS },
    );
    this.socketWatches.set(key, watch);
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
        await this.mountWorkspace(sandbox);
        await this.beforeStart(sandbox, info);
        await container.start();
        this.opts.onStep?.('container-started', sandbox);
        await this.deliverOrRemove(sandbox, container, info.Id, credentialFilesOf(info.Config.Labels));
        this.afterStart(sandbox);
        return 'started';
      }
      if (!ours) {
        const claim = claimOf(info.Config.Labels, sandbox);
        if (claim.kind !== 'stale') throw blockedBy('container', name, claim);
        this.logStale(sandbox, 'container', name, claim);
      }
      // Exited, dead or a stale one of an earlier incarnation: a resumed sandbox always gets a fresh
      // container (v: true removes only its anonymous run volume; the named workspace volume stays).
      await container.remove({ force: true, v: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.mountWorkspace(sandbox);
    const credentials = await this.credentialsFor(sandbox, effective);
    const spec = buildContainerSpec({
      sandbox,
      effective,
      instanceId: this.opts.instanceId,
      credentialEnv: credentials.env,
      credentialFiles: credentials.files,
      // A new token per container: a restart (which the sandbox can cause) yields a new one.
      ...(this.opts.sandboxd
        ? { sandboxd: this.opts.sandboxd, sandboxdToken: randomBytes(32).toString('base64url') }
        : {}),
      ...(this.opts.runtimeClasses ? { runtimeClasses: this.opts.runtimeClasses } : {}),
    });
    // runc refuses a NUL in an env value and quotes the whole NAME=value in its error, which would
    // become the sandbox's message and events (viewers read both): refuse it here, naming only the names.
    const withNul = (spec.Env ?? []).filter((e) => e.includes('\0')).map((e) => e.slice(0, e.indexOf('=')));
    if (withNul.length > 0) {
      throw new TerminalError(
        'UNPROCESSABLE',
        `environment variables ${withNul.join(', ')} have a NUL byte in their value, which no process environment can hold; mount such a secret with mountAs "file"`,
      );
    }
    try {
      const created = await this.opts.docker.createContainer(spec);
      this.opts.onStep?.('container-created', sandbox);
      const createdInfo = await created.inspect();
      if (spec.HostConfig?.Runtime && !this.runtimeHonoured(createdInfo, effective)) {
        await created.remove({ force: true, v: true }).catch(() => undefined);
        throw new TerminalError(
          'UNPROCESSABLE',
          `runtime class "${effective.runtimeClass}" needs the engine runtime "${spec.HostConfig.Runtime}", but this ` +
            "engine ignored it (Podman's Docker-compatible API cannot choose an OCI runtime); refusing to run the " +
            'sandbox without that isolation. Use a Docker engine with the runtime registered (scripts/engine.sh registers runsc).',
        );
      }
      await this.beforeStart(sandbox, createdInfo);
      await created.start();
      this.opts.onStep?.('container-started', sandbox);
      await this.deliverOrRemove(sandbox, created, createdInfo.Id, credentials.files);
      this.afterStart(sandbox);
      return 'created';
    } catch (err) {
      if (isPlatformError(err)) throw err;
      // A concurrent reconcile created it; the next pass observes it.
      if (isNameConflict(err)) return 'unchanged';
      if (statusOf(err) === 400 && /unknown runtime/i.test((err as Error).message)) {
        throw new TerminalError(
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

  /** The owner's secret values of one credential, or a terminal error saying why there are none. */
  private async secretOf(sandbox: Sandbox, secretName: string): Promise<Map<string, Uint8Array>> {
    const namespace = sandbox.metadata.namespace ?? 'default';
    const owner = credentialOwner(sandbox);
    if (!this.opts.secretValues) {
      throw new TerminalError(
        'UNPROCESSABLE',
        "this platform has no secret store; remove the sandbox's credentials",
      );
    }
    const values = owner ? await this.opts.secretValues(owner, namespace, secretName) : undefined;
    if (!values) {
      throw new TerminalError(
        'UNPROCESSABLE',
        `secret "${secretName}" is not one of the sandbox owner's secrets in namespace "${namespace}"; create it (\`agenttier secret create ${secretName}\`) and resume the sandbox`,
      );
    }
    return values;
  }

  /**
   * The env entries and file directories of a sandbox's credentials, read from its owner's secrets at
   * container creation (a later change reaches the sandbox at its next start).
   */
  private async credentialsFor(
    sandbox: Sandbox,
    effective: EffectiveSandbox,
  ): Promise<{ env: string[]; files: CredentialFile[] }> {
    if (effective.serviceAccountAnnotations) {
      throw new TerminalError(
        'UNPROCESSABLE',
        `template "${effective.templateName}" sets serviceAccount.annotations (workload identity), which only Kubernetes honours; use a template without them here, and credentials for secrets`,
      );
    }
    // Checked at create too, but a template may have changed since (a file credential moved into the workspace).
    const problems = credentialProblems(effective);
    if (problems.length > 0) {
      throw new TerminalError('UNPROCESSABLE', problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    }
    const env: string[] = [];
    for (const ref of effective.credentials ?? []) {
      if ((ref.mountAs ?? 'env') !== 'env') continue;
      const out = credentialEnv(ref, await this.secretOf(sandbox, ref.secretName));
      if (out.badKeys.length > 0) {
        throw new TerminalError(
          'UNPROCESSABLE',
          `secret "${ref.secretName}" has keys that cannot be environment variable names or are the platform's own AGENTTIER_ variables (${out.badKeys.join(', ')}); mount it with mountAs "file" or rename the keys`,
        );
      }
      env.push(...out.env.map((e) => `${e.name}=${e.value}`));
    }
    const files = fileCredentials(effective.credentials ?? []);
    if (files.length > 0 && engineRuntimeFor(effective, this.opts.runtimeClasses) === 'runsc') {
      // gVisor cannot mount a tmpfs-backed volume in this version, and the files must not go to disk.
      throw new TerminalError(
        'UNPROCESSABLE',
        'file credentials (mountAs "file") are not available with runtime class gvisor yet; use mountAs "env"',
      );
    }
    for (const f of files) await this.secretOf(sandbox, f.secretName); // fail before creating anything
    return { env, files };
  }

  /**
   * Writes each file credential's keys into its tmpfs through the engine (as root, into a root-owned
   * directory the sandbox cannot write, so nothing the sandbox planted is followed). Idempotent; once
   * per container unless the router restarted.
   */
  private async deliverCredentialFiles(
    sandbox: Sandbox,
    containerId: string,
    files: readonly CredentialFile[],
  ): Promise<void> {
    if (files.length === 0 || this.credentialsDelivered.get(channelKey(sandbox)) === containerId) return;
    const container = this.opts.docker.getContainer(containerId);
    await this.assertInMemory(container, files);
    for (const f of files) {
      const archive = await credentialTar(await this.secretOf(sandbox, f.secretName));
      await container.putArchive(archive, { path: f.mountPath });
    }
    this.credentialsDelivered.set(channelKey(sandbox), containerId);
  }

  /**
   * Each credential directory is the tmpfs volume asked for: an engine that ignores volume options
   * (Podman's compatible API does) would make a plain volume on its disk, and secrets must not go there.
   */
  private async assertInMemory(container: Docker.Container, files: readonly CredentialFile[]): Promise<void> {
    const info = await container.inspect();
    for (const f of files) {
      const mount = info.Mounts?.find((m) => m.Destination === f.mountPath);
      const options =
        mount?.Type === 'volume' && mount.Name
          ? (await this.opts.docker.getVolume(mount.Name).inspect()).Options
          : undefined;
      if (options?.type !== 'tmpfs' || options.device !== 'tmpfs') {
        throw new TerminalError(
          'UNPROCESSABLE',
          `the engine did not make ${f.mountPath} an in-memory (tmpfs) volume, and credential files are never written to disk; use mountAs "env" with this engine`,
        );
      }
    }
  }

  /** deliverCredentialFiles right after a start; a container that cannot get them does not stay. */
  private async deliverOrRemove(
    sandbox: Sandbox,
    container: Docker.Container,
    containerId: string,
    files: readonly CredentialFile[],
  ): Promise<void> {
    try {
      await this.deliverCredentialFiles(sandbox, containerId, files);
    } catch (err) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      if (isPlatformError(err)) throw err;
      throw new PlatformError(
        'RUNTIME_FAILED',
        `could not put the credential files in place: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
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

  /** Removes the container under the sandbox's name when it is a stale one of an earlier incarnation. */
  private async removeStaleWorkload(sandbox: Sandbox): Promise<void> {
    const name = workloadName(sandbox);
    const container = this.opts.docker.getContainer(name);
    try {
      const claim = claimOf((await container.inspect()).Config.Labels, sandbox);
      if (claim.kind === 'ours') return;
      if (claim.kind !== 'stale') throw blockedBy('container', name, claim);
      this.logStale(sandbox, 'container', name, claim);
      await container.remove({ force: true, v: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private logStale(sandbox: Sandbox, type: string, name: string, claim: StaleClaim): void {
    this.opts.logger?.warn(
      {
        sandbox: `${sandbox.metadata.namespace ?? 'default'}/${sandbox.metadata.name}`,
        [type]: name,
        staleUid: claim.uid,
        staleInstance: claim.instance,
        ...(claim.instance !== this.opts.instanceId ? { otherInstall: true } : {}),
      },
      `replacing a stale ${type} of an earlier sandbox with the same name`,
    );
  }

  async removeWorkload(sandbox: Sandbox): Promise<ChildOutcome> {
    const container = this.opts.docker.getContainer(workloadName(sandbox));
    this.channels.delete(channelKey(sandbox));
    this.credentialsDelivered.delete(channelKey(sandbox));
    try {
      await container.stop({ t: this.opts.stopGraceSec ?? 3 }).catch((err: unknown) => {
        if (statusOf(err) !== 304 && !isNotFound(err)) throw err;
      });
      this.opts.onStep?.('container-stopped', sandbox);
      await container.remove({ force: true, v: true });
      this.opts.onStep?.('container-removed', sandbox);
      return 'deleted';
    } catch (err) {
      if (isNotFound(err)) return 'unchanged';
      throw err;
    }
  }

  async removeVolume(sandbox: Sandbox): Promise<ChildOutcome> {
    let outcome: ChildOutcome = 'deleted';
    try {
      await this.opts.docker.getVolume(volumeName(sandbox)).remove();
      this.opts.onStep?.('volume-removed', sandbox);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      outcome = 'unchanged';
    }
    const uid = sandbox.metadata.uid;
    if (this.opts.workspaces && uid) await this.opts.workspaces.release(uid);
    return outcome;
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
    // Workspace images whose engine volume is gone (a crash between making the image and the volume,
    // or a volume removed behind our back) are children too: the orphan sweep releases them.
    const seen = new Set(out.map((c) => c.sandboxUid));
    for (const uid of (await this.opts.workspaces?.list()) ?? []) {
      if (seen.has(uid)) continue;
      out.push({
        type: 'volume',
        name: `workspace-image-${uid}`,
        sandboxUid: uid,
        sandboxName: '',
        namespace: '',
      });
    }
    return out;
  }

  async removeOwned(child: OwnedChild): Promise<void> {
    try {
      if (child.type === 'workload') {
        if (child.sandboxUid) this.channels.delete(child.sandboxUid);
        await this.opts.docker.getContainer(child.name).remove({ force: true, v: true });
      } else {
        await this.opts.docker
          .getVolume(child.name)
          .remove()
          .catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
        if (child.sandboxUid) await this.opts.workspaces?.release(child.sandboxUid);
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** A child of an earlier sandbox with this namespace and name, made by AgentTier (any install). */
interface StaleClaim {
  kind: 'stale';
  uid: string;
  instance: string;
}

/** Who a child under the sandbox's deterministic name belongs to, from its labels. */
type Claim =
  | { kind: 'ours' }
  | StaleClaim
  /** AgentTier's, labelled for a different namespace/name whose names map to the same engine name. */
  | { kind: 'other-sandbox'; owner: string }
  | { kind: 'foreign' };

/**
 * A child labelled by AgentTier for the same namespace and sandbox name but another uid is left from
 * an earlier incarnation: a sandbox deleted while the platform was down, or a platform killed with its
 * state dir lost (another install id). Nothing live can own it: names are unique per namespace in the
 * store, so this sandbox is the only one that may hold the name now.
 */
function claimOf(labels: Record<string, string> | null | undefined, sandbox: Sandbox): Claim {
  const uid = labels?.[LABEL_SANDBOX_UID];
  if (uid === sandbox.metadata.uid) return { kind: 'ours' };
  if (labels?.[LABEL_MANAGED] !== 'true' || !uid) return { kind: 'foreign' };
  const ns = labels[LABEL_NAMESPACE];
  const name = labels[LABEL_SANDBOX];
  if (ns === (sandbox.metadata.namespace ?? 'default') && name === sandbox.metadata.name) {
    return { kind: 'stale', uid, instance: labels[LABEL_INSTANCE] ?? '' };
  }
  return { kind: 'other-sandbox', owner: `${ns ?? '?'}/${name ?? '?'}` };
}

/** The sandbox waits (capped backoff, the reason in its status) until the user frees the name. */
function blockedBy(type: 'container' | 'volume', name: string, claim: Claim): PlatformError {
  const remove = type === 'container' ? `docker rm -f ${name}` : `docker volume rm ${name}`;
  // Not CONFLICT: that code means a stale store write and is retried at once.
  return new PlatformError(
    'ALREADY_EXISTS',
    claim.kind === 'other-sandbox'
      ? `${type} ${name} belongs to AgentTier sandbox ${claim.owner}, whose engine name is the same; use another sandbox name`
      : `${type} ${name} exists but was not made by AgentTier; it is left alone: remove it (${remove}) or use another sandbox name`,
  );
}

function channelKey(sandbox: Sandbox): string {
  return sandbox.metadata.uid ?? `${sandbox.metadata.namespace ?? 'default'}/${sandbox.metadata.name}`;
}

/**
 * Puts the token where agenttier-launch reads (and removes) it: a root-only file created in the run
 * volume through the directory's descriptor, never following a link, never over an existing file (one
 * left from an earlier start of the same container is kept: the launcher removes what it reads).
 */
async function writeTokenFile(dirFd: number, token: string): Promise<void> {
  let file;
  try {
    file = await open(
      `/proc/self/fd/${dirFd}/${SANDBOXD_TOKEN_FILE_NAME}`,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o400,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  try {
    await file.writeFile(token);
  } finally {
    await file.close();
  }
}
