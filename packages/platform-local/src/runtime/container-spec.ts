import type { Sandbox } from '@agenttier/contract';
import {
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_SANDBOX,
  LABEL_SANDBOX_UID,
  LABEL_TEMPLATE,
  parseBytes,
  parseCpuMillis,
} from '@agenttier/contract';
import type { EffectiveSandbox } from '@agenttier/core';
import { volumeName, workloadName } from '@agenttier/core';
import type { ContainerCreateOptions } from 'dockerode';
import { dirname } from 'node:path';
import type { CredentialFile } from './credential-files.ts';
import { LABEL_CREDENTIAL_FILES, credentialMounts } from './credential-files.ts';
import type { MountVolumeOptions } from './tmpfs-volume.ts';
import { tmpfsVolumeOptions } from './tmpfs-volume.ts';

/** Where sandboxd and its Node runtime are mounted inside every sandbox (read-only). */
export const SANDBOXD_MOUNT = '/opt/agenttier/sandboxd';
export const NODE_MOUNT = '/opt/agenttier/node/bin';
/**
 * Where sandboxd creates its socket: an anonymous engine volume, one per container (so per start), removed
 * with the container. The router finds its host side through the engine (inspect), never by a path it
 * made up, and connects without following links (no-follow-connect.ts). Nothing else lives there: the
 * token is in the container's environment, and the router keeps its copy in memory.
 */
export const RUN_MOUNT = '/run/agenttier';
/** sandboxd's socket file name inside RUN_MOUNT. */
export const SANDBOXD_SOCKET_NAME = 'sandboxd.sock';
/** The environment variable carrying sandboxd's per-start token (containers without agenttier-launch). */
export const SANDBOXD_TOKEN_ENV = 'AGENTTIER_SANDBOXD_TOKEN';
/**
 * With agenttier-launch: the container label holding the token, where the router learns it again after
 * a restart (labels are engine metadata; nothing inside the container shows them), and the root-only
 * file in the run volume the router writes before the first start and the launcher reads and removes.
 */
export const LABEL_SANDBOXD_TOKEN = 'agenttier.io/sandboxd-token';
export const SANDBOXD_TOKEN_FILE_NAME = 'token';
export const SANDBOX_UID = 1000;

export interface SandboxdMounts {
  bundleDir: string;
  entry: string;
  nodeBinDir: string;
  nodeBinaryName: string;
  /**
   * File name of agenttier-launch in the bundle, when it has one. The container then starts as root
   * with only CAP_SETUID/CAP_SETGID, and the launcher binds sandboxd's socket as root in the root-owned
   * run volume, passes the token on a pipe instead of the environment, and drops to SANDBOX_UID before
   * anything else runs (docs/security.md, "sandboxd's socket and token out of the sandbox's reach").
   */
  launch?: string;
  /**
   * Engine volumes holding the bundle and `bin/<node>` (stageSandboxdVolumes), mounted read-only instead
   * of bind-mounting bundleDir and nodeBinDir: mountinfo inside the sandbox then shows no host directory
   * of AgentTier's installation.
   */
  volumes?: { bundle: string; node: string };
}

export interface ContainerSpecInput {
  sandbox: Sandbox;
  instanceId: string;
  effective: EffectiveSandbox;
  sandboxd?: SandboxdMounts;
  /** sandboxd's bearer token for this container (required with `sandboxd`). */
  sandboxdToken?: string;
  /** Docker runtime names for template runtime classes, e.g. { gvisor: 'runsc' }. */
  runtimeClasses?: Record<string, string>;
  /** Network for sandboxes whose template allows egress. @default 'bridge' */
  egressNetwork?: string;
  /** `NAME=value` entries of the env credentials (after the template's env, so they win over it). */
  credentialEnv?: string[];
  /** Directories of the file credentials: a tmpfs each, filled after the start. */
  credentialFiles?: CredentialFile[];
}

/** Size of the run volume: it holds one socket, and the sandbox must not fill the host disk through it. */
export const RUN_VOLUME_BYTES = 1 << 20;

/**
 * Without agenttier-launch, a tmpfs-backed run volume (local driver): bounded, owned by the sandbox user
 * from the start, and its mountinfo line names no host path at all. gVisor (runsc) cannot mount a
 * tmpfs-backed volume in this version (EINVAL), so it gets a plain volume; Podman ignores the options
 * and also makes a plain one. With the launcher, a plain volume the router makes root's (0755).
 */
function runVolumeOptions(
  engineRuntime: string | undefined,
  launch: boolean,
): { VolumeOptions?: MountVolumeOptions } {
  // With the launcher the sandbox cannot write here at all, and the router must put the token file in
  // before the start, which a tmpfs mounted at start would hide: a plain volume.
  if (engineRuntime === 'runsc' || launch) return {};
  return {
    VolumeOptions: tmpfsVolumeOptions({
      sizeBytes: RUN_VOLUME_BYTES,
      maxInodes: 64,
      mode: '0700',
      uid: SANDBOX_UID,
      gid: SANDBOX_UID,
    }),
  };
}

/** Label naming the AgentTier install that owns a child, so two installs can share one engine. */
export const LABEL_INSTANCE = 'agenttier.io/instance';

export function ownerLabels(
  sandbox: Sandbox,
  instanceId: string,
  templateName?: string,
): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_INSTANCE]: instanceId,
    [LABEL_SANDBOX]: sandbox.metadata.name,
    [LABEL_NAMESPACE]: sandbox.metadata.namespace ?? 'default',
    [LABEL_SANDBOX_UID]: sandbox.metadata.uid ?? '',
    ...(templateName ? { [LABEL_TEMPLATE]: templateName } : {}),
  };
}

/** The engine runtime (daemon.json name) for the sandbox's runtime class; undefined = the engine default. */
export function engineRuntimeFor(
  effective: Pick<EffectiveSandbox, 'runtimeClass'>,
  runtimeClasses?: Record<string, string>,
): string | undefined {
  const rc = effective.runtimeClass;
  return rc ? (runtimeClasses?.[rc] ?? rc) : undefined;
}

/**
 * The locked-down container of DESIGN's security defaults: uid 1000, read-only root, tmpfs /tmp, every
 * capability dropped, no-new-privileges, the engine's default seccomp profile, CPU/memory/pids limits,
 * and network "none" unless the template allows egress.
 */
export function buildContainerSpec(input: ContainerSpecInput): ContainerCreateOptions {
  const { sandbox, effective, sandboxd } = input;
  const memory = parseBytes(effective.resources.memory) ?? 4 * 2 ** 30;
  const cpuMillis = parseCpuMillis(effective.resources.cpu) ?? 2000;
  const env = [
    `HOME=${effective.storage.mountPath}`,
    'TERM=xterm-256color',
    'LANG=C.UTF-8',
    `AGENTTIER_SANDBOX=${sandbox.metadata.name}`,
    `AGENTTIER_NAMESPACE=${sandbox.metadata.namespace ?? 'default'}`,
    ...effective.env.map((e) => `${e.name}=${e.value}`),
    ...(input.credentialEnv ?? []),
  ];
  const files = input.credentialFiles ?? [];
  const mounts: NonNullable<ContainerCreateOptions['HostConfig']>['Mounts'] = [
    { Type: 'volume', Source: volumeName(sandbox), Target: effective.storage.mountPath },
    ...credentialMounts(files),
  ];
  let entrypoint: string[] | undefined;
  let cmd: string[] | undefined;
  if (sandboxd) {
    if (!input.sandboxdToken) throw new Error('buildContainerSpec: sandboxd needs sandboxdToken');
    mounts.push(
      // Anonymous (empty Source): a fresh volume per container, named by the engine at random, so
      // mountinfo shows neither the data dir nor the sandbox's uid. Backed by a 1 MiB tmpfs where the
      // runtime allows it (runVolumeOptions): a plain volume let the sandbox write without limit to the
      // disk the engine and the store share, past its storage.size.
      {
        Type: 'volume',
        Source: '',
        Target: RUN_MOUNT,
        ...runVolumeOptions(engineRuntimeFor(effective, input.runtimeClasses), !!sandboxd.launch),
      },
      ...(sandboxd.volumes
        ? [
            {
              Type: 'volume' as const,
              Source: sandboxd.volumes.bundle,
              Target: SANDBOXD_MOUNT,
              ReadOnly: true,
            },
            {
              Type: 'volume' as const,
              Source: sandboxd.volumes.node,
              Target: dirname(NODE_MOUNT),
              ReadOnly: true,
            },
          ]
        : [
            { Type: 'bind' as const, Source: sandboxd.bundleDir, Target: SANDBOXD_MOUNT, ReadOnly: true },
            { Type: 'bind' as const, Source: sandboxd.nodeBinDir, Target: NODE_MOUNT, ReadOnly: true },
          ]),
    );
    // sandboxd replaces the shell (exec), so it is the direct child of the engine's init and gets
    // `docker stop`'s SIGTERM (a shell waiting on it would die of the signal and leave sandboxd to be
    // SIGKILLed). If the image cannot run the mounted Node at all (no glibc, say), keep the sandbox
    // alive without sandboxd: the router then falls back to the engine's exec for it. `--version` loads
    // the binary and its libraries (what fails without glibc) but starts no JavaScript engine: `-e 0`
    // cost a whole extra Node start-up per sandbox, which 20 creates at once paid on shared cores.
    // --disable-sigusr1: SIGUSR1 (which the sandbox's code may send, same uid) must not open Node's
    // inspector in sandboxd.
    entrypoint = [
      '/bin/sh',
      '-c',
      '"$0" --version >/dev/null 2>&1 && exec "$0" --disable-sigusr1 "$1"; ' +
        'echo "agenttier: the mounted Node cannot run in this image (it needs glibc); no sandboxd, the router uses engine exec" >&2; ' +
        'exec sleep infinity',
      `${NODE_MOUNT}/${sandboxd.nodeBinaryName}`,
      `${SANDBOXD_MOUNT}/${sandboxd.entry}`,
    ];
    if (sandboxd.launch) {
      entrypoint = [
        `${SANDBOXD_MOUNT}/${sandboxd.launch}`,
        '--socket',
        `${RUN_MOUNT}/${SANDBOXD_SOCKET_NAME}`,
        '--uid',
        String(SANDBOX_UID),
        '--gid',
        String(SANDBOX_UID),
        '--token-file',
        `${RUN_MOUNT}/${SANDBOXD_TOKEN_FILE_NAME}`,
        '--',
        ...entrypoint,
      ];
    }
    cmd = [];
    env.push(
      `AGENTTIER_SANDBOXD_SOCKET=${RUN_MOUNT}/${SANDBOXD_SOCKET_NAME}`,
      ...(sandboxd.launch ? [] : [`${SANDBOXD_TOKEN_ENV}=${input.sandboxdToken}`]),
      `AGENTTIER_SANDBOXD_ROOTS=${effective.storage.mountPath}:/tmp`,
      `AGENTTIER_SHELL=${effective.shell}`,
    );
    if (effective.onStart) env.push(`AGENTTIER_ONSTART=${effective.onStart}`);
  } else {
    entrypoint = ['sleep'];
    cmd = ['infinity'];
  }
  const runtime = engineRuntimeFor(effective, input.runtimeClasses);
  // With the launcher the container starts as root for its first instants, holding only the
  // capabilities it needs to become the sandbox user (SETUID, SETGID) and to empty the bounding set
  // (SETPCAP); it drops every one for good before exec'ing anything. The engine's init stays root (so the sandbox can neither signal nor ptrace it)
  // and keeps CAP_KILL to pass `docker stop`'s SIGTERM on to sandboxd (uid 1000). Engine execs name the
  // sandbox user explicitly (engine-data-plane.ts).
  const launch = !!sandboxd?.launch;
  return {
    name: workloadName(sandbox),
    Image: effective.image,
    Entrypoint: entrypoint,
    Cmd: cmd,
    User: launch ? '0:0' : `${SANDBOX_UID}:${SANDBOX_UID}`,
    WorkingDir: effective.workingDir,
    Env: env,
    Labels: {
      ...ownerLabels(sandbox, input.instanceId, effective.templateName),
      ...(files.length ? { [LABEL_CREDENTIAL_FILES]: JSON.stringify(files) } : {}),
      ...(launch && input.sandboxdToken ? { [LABEL_SANDBOXD_TOKEN]: input.sandboxdToken } : {}),
    },
    Hostname: sandbox.metadata.name.slice(0, 63),
    NetworkDisabled: !effective.network.allowInternet,
    HostConfig: {
      NetworkMode: effective.network.allowInternet ? (input.egressNetwork ?? 'bridge') : 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=256m,mode=1777' },
      Mounts: mounts,
      CapDrop: ['ALL'],
      ...(launch ? { CapAdd: ['SETUID', 'SETGID', 'SETPCAP', 'KILL'] } : {}),
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      NanoCpus: cpuMillis * 1_000_000,
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: effective.resources.pids,
      RestartPolicy: { Name: 'no' },
      ...(runtime ? { Runtime: runtime } : {}),
    },
  };
}
