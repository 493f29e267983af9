import type { Sandbox } from '@agenttier/contract';
import type { EffectiveSandbox } from '@agenttier/core';
import type {
  V1Container,
  V1EnvVar,
  V1Pod,
  V1SecurityContext,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  ANNOTATION_CREATED_BY,
  ANNOTATION_TOKEN_SHA256,
  LABEL_COMPONENT,
  childLabels,
  childNames,
  ownerReference,
} from './children.ts';
import { credentialPodParts } from './credential-secrets.ts';

/** Where sandboxd, its Node runtime and tini land inside the sandbox (an emptyDir, read-only there). */
export const AGENTTIER_DIR = '/opt/agenttier';
/** Matches @agenttier/sandboxd's SANDBOXD_CONTAINER_COMMAND layout under AGENTTIER_DIR. */
export const SANDBOXD_COMMAND = [
  `${AGENTTIER_DIR}/bin/tini`,
  '-g',
  '--',
  `${AGENTTIER_DIR}/node/bin/node`,
  // The sandbox's code runs as sandboxd's uid and may signal it: SIGUSR1 must not open the inspector.
  '--disable-sigusr1',
  `${AGENTTIER_DIR}/sandboxd/sandboxd.mjs`,
];
export const SANDBOXD_PORT = 7070;
/** The static first step (packages/sandboxd/src/native/launch.c), in the injected bundle. */
export const LAUNCH_PATH = `${AGENTTIER_DIR}/sandboxd/agenttier-launch`;
/** baseline: where the sandbox container finds the root-only token copy (a memory emptyDir, read-only). */
export const TOKEN_DIR = '/run/agenttier/token';
/** baseline: where only the injector (root) mounts the token Secret; restricted: unused. */
export const TOKEN_SECRET_DIR = '/run/agenttier/token-secret';
export const SANDBOX_UID = 1000;
export const SANDBOX_CONTAINER = 'sandbox';
/** The injector image's entry copies its /agenttier tree into this directory. */
export const INJECTOR_TARGET = '/target';

/** Harness parts the runtime applies that core's EffectiveSandbox does not carry (yet). */
export interface HarnessExtras {
  tools?: Array<{ name: string; verifyCommand?: string }>;
  initScripts?: string[];
}

export interface PodScheduling {
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  imagePullSecrets?: string[];
  priorityClassName?: string;
}

/**
 * How the sandbox container starts (docs/kubernetes.md, "Pod security").
 *
 * - `baseline` (default; the namespace's Pod Security level must allow it): the container starts as
 *   root holding only SETUID, SETGID, SETPCAP and KILL; tini (root, pid 1) runs agenttier-launch,
 *   which binds sandboxd's port and reads its token as root, then drops to uid 1000 for good before
 *   sandboxd (and so any code of the sandbox) runs. The token Secret is mounted only in the injector,
 *   which copies it as root into a memory volume as a root-only file.
 * - `restricted` (opt-in, for namespaces that enforce the restricted profile): everything runs as uid
 *   1000 from the first process, the sandbox's code included. Weaker: that code can read the token,
 *   kill sandboxd and listen on its port, and ptrace tini.
 */
export type SandboxPodSecurity = 'baseline' | 'restricted';
export const SANDBOX_POD_SECURITY_LEVELS: readonly SandboxPodSecurity[] = ['baseline', 'restricted'];

/** The only capabilities agenttier-launch needs (KILL: tini, root, passes the kubelet's SIGTERM on to uid 1000). */
export const LAUNCH_CAPABILITIES = ['SETUID', 'SETGID', 'SETPCAP', 'KILL'];

export interface PodBuildInput {
  sandbox: Sandbox;
  effective: EffectiveSandbox;
  injectorImage: string;
  harness?: HarnessExtras;
  scheduling?: PodScheduling;
  /** Size of the in-memory /tmp. @default 256Mi */
  tmpSize?: string;
  /** SHA-256 (hex) of the token this start's Secret holds (see tokenDigest). */
  tokenSha256?: string;
  /** @default 'baseline' */
  podSecurity?: SandboxPodSecurity;
}

/** DESIGN's locked-down container: uid 1000, read-only root, no capabilities, no escalation, seccomp. */
export function lockedDown(readOnlyRoot = true): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: SANDBOX_UID,
    runAsGroup: SANDBOX_UID,
    readOnlyRootFilesystem: readOnlyRoot,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * A root first step within Pod Security "baseline": uid 0, but no capability beyond `add`, no
 * privilege escalation (no_new_privs), read-only root, seccomp RuntimeDefault.
 */
export function rootStep(add: string[] = []): V1SecurityContext {
  return {
    runAsNonRoot: false,
    runAsUser: 0,
    runAsGroup: 0,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'], ...(add.length ? { add } : {}) },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** tini (pid 1) → agenttier-launch (root: binds the port, takes the token, drops to uid 1000) → sandboxd. */
export function launchCommand(): string[] {
  return [
    SANDBOXD_COMMAND[0]!,
    '-g',
    '--',
    LAUNCH_PATH,
    '--listen-tcp',
    `[::]:${SANDBOXD_PORT}`,
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--token-file',
    `${TOKEN_DIR}/token`,
    '--token-file-read-only',
    '--',
    ...SANDBOXD_COMMAND.slice(3),
  ];
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One init container that fails with the names of the tools that are missing from the image. */
export function toolsVerifyScript(tools: NonNullable<HarnessExtras['tools']>): string {
  const lines = ['failed=""'];
  for (const t of tools) {
    const check = t.verifyCommand ?? `command -v ${shellQuote(t.name)}`;
    lines.push(
      `if ! ( ${check} ) >/dev/null 2>&1; then failed="$failed ${t.name.replace(/[^A-Za-z0-9._+-]/g, '_')}"; fi`,
    );
  }
  lines.push(
    'if [ -n "$failed" ]; then',
    '  msg="tool verification failed:$failed"',
    '  echo "$msg" >&2',
    '  echo "$msg" > /dev/termination-log 2>/dev/null || true',
    '  exit 1',
    'fi',
  );
  return lines.join('\n');
}

/**
 * The Pod of one sandbox. sandboxd (copied in by an init container from the injector image) runs under
 * tini, serving the router on a pod port with the per-sandbox token (baseline: through
 * agenttier-launch, see SandboxPodSecurity); the image's own entrypoint is not used, so any image
 * with a libc works.
 */
export function buildPod(input: PodBuildInput): V1Pod {
  const { sandbox, effective } = input;
  const baseline = (input.podSecurity ?? 'baseline') === 'baseline';
  const names = childNames(sandbox);
  const mount = effective.storage.mountPath;
  const labels = { ...childLabels(sandbox, effective.templateName), [LABEL_COMPONENT]: 'sandbox' };
  const userEnv: V1EnvVar[] = effective.env.map((e) => ({ name: e.name, value: e.value }));
  const baseEnv: V1EnvVar[] = [
    { name: 'HOME', value: mount },
    { name: 'TERM', value: 'xterm-256color' },
    { name: 'LANG', value: 'C.UTF-8' },
    { name: 'AGENTTIER_SANDBOX', value: sandbox.metadata.name },
    { name: 'AGENTTIER_NAMESPACE', value: sandbox.metadata.namespace ?? 'default' },
  ];
  const workspaceMount: V1VolumeMount = { name: 'workspace', mountPath: mount };
  const credentials = credentialPodParts(effective.credentials ?? []);
  const tmpMount: V1VolumeMount = { name: 'tmp', mountPath: '/tmp' };

  const initContainers: V1Container[] = [
    {
      name: 'sandboxd-inject',
      image: input.injectorImage,
      imagePullPolicy: 'IfNotPresent',
      // baseline: as root (no capability) it also copies the token into a root-only file; the sandbox
      // container never mounts the Secret (kubelet makes a Secret volume group-readable for fsGroup).
      args: baseline
        ? [INJECTOR_TARGET, '--token', `${TOKEN_SECRET_DIR}/token`, `${TOKEN_DIR}/token`]
        : [INJECTOR_TARGET],
      volumeMounts: [
        { name: 'agenttier', mountPath: INJECTOR_TARGET },
        ...(baseline
          ? [
              { name: 'sandboxd-token-secret', mountPath: TOKEN_SECRET_DIR, readOnly: true },
              { name: 'sandboxd-token', mountPath: TOKEN_DIR },
            ]
          : []),
      ],
      securityContext: baseline ? rootStep() : lockedDown(),
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
    },
  ];
  const tools = input.harness?.tools ?? [];
  if (tools.length) {
    initContainers.push({
      name: 'verify-tools',
      image: effective.image,
      imagePullPolicy: effective.pullPolicy,
      command: ['/bin/sh', '-c', toolsVerifyScript(tools)],
      env: [...baseEnv, ...userEnv],
      volumeMounts: [tmpMount],
      securityContext: lockedDown(),
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
  }
  const scripts = input.harness?.initScripts ?? [];
  if (scripts.length) {
    initContainers.push({
      name: 'init-scripts',
      image: effective.image,
      imagePullPolicy: effective.pullPolicy,
      command: ['/bin/sh', '-c', ['set -e', ...scripts].join('\n')],
      workingDir: effective.workingDir,
      env: [...baseEnv, ...userEnv],
      volumeMounts: [workspaceMount, tmpMount],
      securityContext: lockedDown(),
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
  }

  const limits: Record<string, string> = { cpu: effective.resources.cpu, memory: effective.resources.memory };
  const requests: Record<string, string> = {};
  const req = effective.resources.requests;
  if (req?.cpu) requests.cpu = req.cpu;
  if (req?.memory) requests.memory = req.memory;

  const sandboxContainer: V1Container = {
    name: SANDBOX_CONTAINER,
    image: effective.image,
    imagePullPolicy: effective.pullPolicy,
    command: baseline ? launchCommand() : SANDBOXD_COMMAND,
    workingDir: effective.workingDir,
    ...(credentials.envFrom.length ? { envFrom: credentials.envFrom } : {}),
    env: [
      ...baseEnv,
      ...userEnv,
      // baseline: agenttier-launch hands sandboxd its port and token as descriptors instead.
      ...(baseline
        ? []
        : [
            { name: 'AGENTTIER_SANDBOXD_LISTEN', value: `0.0.0.0:${SANDBOXD_PORT}` },
            { name: 'AGENTTIER_SANDBOXD_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
          ]),
      { name: 'AGENTTIER_SANDBOXD_ROOTS', value: `${mount}:/tmp` },
      { name: 'AGENTTIER_SANDBOXD_CWD', value: effective.workingDir },
      { name: 'AGENTTIER_SHELL', value: effective.shell },
      ...(effective.onStart ? [{ name: 'AGENTTIER_ONSTART', value: effective.onStart }] : []),
    ],
    ports: [{ name: 'sandboxd', containerPort: SANDBOXD_PORT, protocol: 'TCP' }],
    // Ready means sandboxd accepts connections: the router can serve this sandbox.
    readinessProbe: {
      tcpSocket: { port: SANDBOXD_PORT },
      periodSeconds: 2,
      failureThreshold: 3,
      timeoutSeconds: 1,
    },
    resources: { limits, ...(Object.keys(requests).length ? { requests } : {}) },
    securityContext: baseline ? rootStep(LAUNCH_CAPABILITIES) : lockedDown(),
    volumeMounts: [
      workspaceMount,
      tmpMount,
      { name: 'agenttier', mountPath: AGENTTIER_DIR, readOnly: true },
      { name: 'sandboxd-token', mountPath: TOKEN_DIR, readOnly: true },
      ...credentials.mounts,
    ],
  };

  const volumes: V1Volume[] = [
    { name: 'workspace', persistentVolumeClaim: { claimName: names.pvc } },
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: input.tmpSize ?? '256Mi' } },
    { name: 'agenttier', emptyDir: { sizeLimit: '512Mi' } },
    ...(baseline
      ? [
          {
            name: 'sandboxd-token-secret',
            secret: {
              secretName: names.tokenSecret,
              items: [{ key: 'token', path: 'token' }],
              defaultMode: 0o400,
            },
          },
          // Filled after the kubelet set the volume up, so fsGroup never touches the copy: root's, 0400.
          { name: 'sandboxd-token', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
        ]
      : [
          {
            name: 'sandboxd-token',
            secret: {
              secretName: names.tokenSecret,
              items: [{ key: 'token', path: 'token' }],
              defaultMode: 0o440,
            },
          },
        ]),
    ...credentials.volumes,
  ];

  const scheduling = input.scheduling ?? {};
  const createdBy = sandbox.spec.createdBy?.email ?? sandbox.spec.createdBy?.sub;
  const annotations: Record<string, string> = {
    ...(createdBy ? { [ANNOTATION_CREATED_BY]: createdBy } : {}),
    ...(input.tokenSha256 ? { [ANNOTATION_TOKEN_SHA256]: input.tokenSha256 } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: names.pod,
      namespace: sandbox.metadata.namespace ?? 'default',
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [ownerReference(sandbox)],
    },
    spec: {
      // A sandbox that exits is restarted by the controller within its budget (and reported), not by the kubelet.
      restartPolicy: 'Never',
      hostname: sandbox.metadata.name.slice(0, 63),
      serviceAccountName: names.serviceAccount,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 10,
      ...(effective.runtimeClass ? { runtimeClassName: effective.runtimeClass } : {}),
      securityContext: {
        // baseline: the injector and the sandbox container override this to start as root.
        ...(baseline ? {} : { runAsNonRoot: true }),
        runAsUser: SANDBOX_UID,
        runAsGroup: SANDBOX_UID,
        // The workspace volume becomes group-writable for uid 1000 without a root init container.
        fsGroup: SANDBOX_UID,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      initContainers,
      containers: [sandboxContainer],
      volumes,
      ...(scheduling.nodeSelector ? { nodeSelector: scheduling.nodeSelector } : {}),
      ...(scheduling.tolerations ? { tolerations: scheduling.tolerations } : {}),
      ...(scheduling.priorityClassName ? { priorityClassName: scheduling.priorityClassName } : {}),
      ...(scheduling.imagePullSecrets?.length
        ? { imagePullSecrets: scheduling.imagePullSecrets.map((name) => ({ name })) }
        : {}),
    },
  };
}
