import { z } from 'zod';
import { parseDurationMs } from './duration.ts';
import { LIMITS, labelValueProblem, mountPathProblem, qualifiedKeyProblem, utf8Bytes } from './limits.ts';
import { parseBytes, parseCpuMillis } from './quantity.ts';

/**
 * The one schema source for resources. The same zod schemas validate REST requests, type the code
 * (z.infer), and generate the CRD openAPIV3Schema (see `crd.ts`).
 */
export const API_GROUP = 'agenttier.io';
export const API_VERSION = 'agenttier.io/v1alpha1';

/** DNS-1123 label: what Kubernetes accepts as a Pod/PVC name prefix and Docker as a container name. */
export const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_NAME_LENGTH = LIMITS.nameMaxLength; // leaves room for "-workspace"/"-netpol" suffixes within 63

export const nameSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'is required' })
  .max(MAX_NAME_LENGTH, { error: `must be at most ${MAX_NAME_LENGTH} characters` })
  .regex(NAME_RE, {
    error: 'must be lowercase letters, digits and "-", starting and ending with a letter or digit',
  });

const MAX_DURATION_HOURS = LIMITS.durationMaxMs / 3_600_000;
export const durationSchema = z.string().refine(
  (v) => {
    const ms = parseDurationMs(v);
    return ms !== undefined && ms <= LIMITS.durationMaxMs;
  },
  {
    error: `must be a duration such as "30s", "15m", "8h" or "1h30m", at most ${MAX_DURATION_HOURS}h (no negative values)`,
  },
);

export const cpuSchema = z
  .string()
  .refine((v) => (parseCpuMillis(v) ?? 0) > 0, { error: 'must be a CPU quantity such as "500m" or "2"' });
export const bytesSchema = z
  .string()
  .refine((v) => (parseBytes(v) ?? 0) > 0, { error: 'must be a size such as "512Mi", "4Gi" or "10G"' });

export const modeSchema = z.enum(['code', 'agent']);
export type SandboxMode = z.infer<typeof modeSchema>;

export const templateKindSchema = z.enum(['SandboxTemplate', 'ClusterSandboxTemplate']);

export const templateRefSchema = z.object({
  name: nameSchema,
  kind: templateKindSchema.optional(),
  namespace: nameSchema.optional(),
});
export type TemplateRef = z.infer<typeof templateRefSchema>;

export const imageSpecSchema = z.object({
  // An image reference's characters ([registry[:port]/]path[:tag][@digest]); the engine checks the rest.
  // Spaces, control characters and shell metacharacters were stored and only failed at container start.
  repository: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@+]*$/, {
      error: 'must be an image reference such as "python:3.12" or "registry.example.com/team/image:tag"',
    }),
  pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
});

const MEMORY_MIN_MI = LIMITS.memoryMinBytes / (1024 * 1024);
/** A memory quantity of at least LIMITS.memoryMinBytes (less cannot run the sandbox's daemon). */
export const memorySchema = z.string().refine((v) => (parseBytes(v) ?? 0) >= LIMITS.memoryMinBytes, {
  error: `must be a size of at least ${MEMORY_MIN_MI}Mi, such as "512Mi" or "4Gi"`,
});
const resourceListSchema = z.object({ cpu: cpuSchema.optional(), memory: memorySchema.optional() });
export const resourcesSchema = z.object({
  requests: resourceListSchema.optional(),
  limits: resourceListSchema.optional(),
  /** Process limit inside the sandbox (fork-bomb guard). */
  pids: z.number().int().min(16).max(65_536).optional(),
});
export type ResourcesSpec = z.infer<typeof resourcesSchema>;

/** How the workspace claim may be mounted (Kubernetes PVC access modes; the local platform ignores it). */
export const ACCESS_MODES = ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany'] as const;

/** Where the workspace is mounted: a clean absolute path outside the system directories (see limits.ts). */
export const mountPathSchema = z.string().refine((v) => mountPathProblem(v) === undefined, {
  error: (issue) =>
    typeof issue.input === 'string'
      ? (mountPathProblem(issue.input) ?? 'is not allowed')
      : 'must be an absolute path such as "/workspace"',
});

export const storageSchema = z.object({
  size: bytesSchema.optional(),
  storageClass: z.string().max(253).optional(),
  /** The workspace PVC's access mode. @default ReadWriteOnce */
  accessMode: z.enum(ACCESS_MODES).optional(),
  mountPath: mountPathSchema.optional(),
});

export const networkSchema = z.object({
  allowInternet: z.boolean().optional(),
  allowedDomains: z.array(z.string().max(253)).max(256).optional(),
});

/** A secret's name: a DNS-1123 label, as a Kubernetes Secret name and a CLI argument can both carry. */
export const secretNameSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'is required' })
  .max(63, { error: 'must be at most 63 characters' })
  .regex(NAME_RE, {
    error: 'must be lowercase letters, digits and "-", starting and ending with a letter or digit',
  });

/** What an environment variable name may be (and so an `envPrefix`, and a secret key mounted as env). */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A secret handed to the sandbox at start (the seed product's CredentialRef): each key of the secret
 * becomes an environment variable `envPrefix + KEY` (`mountAs: env`, the default) or a read-only file
 * `mountPath/KEY` (`mountAs: file`). Locally the secret is the sandbox owner's own (docs/security.md,
 * "Credentials"); on Kubernetes a Secret of the sandbox's namespace. Where it may be mounted is checked
 * against the workspace after the template chain merges (core's credentialProblems).
 */
export const credentialRefSchema = z.object({
  secretName: secretNameSchema,
  /** @default env */
  mountAs: z.enum(['env', 'file']).optional(),
  /** Directory holding one file per key (`mountAs: file` only); a clean absolute path outside system directories. */
  mountPath: mountPathSchema.optional(),
  /** Put before each key to make the variable's name (`mountAs: env` only), e.g. `GITHUB_`. */
  envPrefix: z
    .string()
    .max(64, { error: 'must be at most 64 characters' })
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
      error:
        'must be letters, digits and "_", not starting with a digit (it starts environment variable names)',
    })
    .optional(),
});
export type CredentialRef = z.infer<typeof credentialRefSchema>;

/** Why a credential's fields do not fit together, or undefined (mountPath with file, envPrefix with env). */
export function credentialShapeProblem(c: CredentialRef): { field: string; message: string } | undefined {
  const mode = c.mountAs ?? 'env';
  if (mode === 'file' && !c.mountPath)
    return {
      field: 'mountPath',
      message: 'is required with mountAs "file" (the directory the files appear in)',
    };
  if (mode === 'file' && c.envPrefix !== undefined)
    return { field: 'envPrefix', message: 'applies to mountAs "env" only' };
  if (mode === 'env' && c.mountPath !== undefined)
    return { field: 'mountPath', message: 'applies to mountAs "file" only (env credentials are not files)' };
  return undefined;
}

/** A credentials list: each entry's fields fit together (credentialShapeProblem). */
export const credentialsSchema = z
  .array(credentialRefSchema)
  .max(LIMITS.credentialsMax, { error: `must have at most ${LIMITS.credentialsMax} entries` })
  .superRefine((list, ctx) => {
    list.forEach((c, i) => {
      const problem = credentialShapeProblem(c);
      if (problem) ctx.addIssue({ code: 'custom', path: [i, problem.field], message: problem.message });
    });
  });

export const envVarSchema = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be a valid environment variable name' }),
  value: z.string().max(32_768).default(''),
});
export type EnvVar = z.infer<typeof envVarSchema>;

export const agentSpecSchema = z.object({
  entrypoint: z.array(z.string()).optional(),
  installCommand: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  // Bounded as every env list is: the CRD's CEL rule on each name must fit the API server's cost budget.
  env: z.array(envVarSchema).max(256).optional(),
  maxConcurrentInvokes: z.number().int().min(0).max(1000).optional(),
  defaultInvokeTimeout: durationSchema.optional(),
});

export const harnessSchema = z.object({
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  shell: z.string().optional(),
  tools: z
    .array(
      z.object({
        name: z.string(),
        version: z.string().optional(),
        installCommand: z.string().optional(),
        verifyCommand: z.string().optional(),
      }),
    )
    .optional(),
  hooks: z
    .object({
      onStart: z.string().optional(),
      onStop: z.string().optional(),
      onIdle: z.string().optional(),
      onResume: z.string().optional(),
    })
    .optional(),
  agent: agentSpecSchema.optional(),
  /**
   * The agent's system prompt, inline (the seed product's FileOrRef without the Kubernetes references):
   * stored with the template and returned by the API for the agent to fetch; the platform does not read it.
   */
  systemPrompt: z
    .object({
      content: z.string().max(262_144).optional(),
      /** Where the agent expects the prompt inside the sandbox (informational, as in the seed product). */
      path: z.string().max(4096).optional(),
    })
    .optional(),
});

export const securitySchema = z.object({
  /** gVisor and friends: a Docker runtime locally, runtimeClassName on Kubernetes. */
  runtimeClass: z.string().optional(),
});

export const userIdentitySchema = z.object({
  sub: z.string(),
  email: z.string().optional(),
  displayName: z.string().optional(),
});

/** Fields a template and a sandbox share; the sandbox overrides the template field by field. */
const sharedSpecShape = {
  mode: modeSchema.optional(),
  image: imageSpecSchema.optional(),
  resources: resourcesSchema.optional(),
  storage: storageSchema.optional(),
  network: networkSchema.optional(),
  env: z.array(envVarSchema).max(256).optional(),
  timeout: durationSchema.optional(),
  idleTimeout: durationSchema.optional(),
  runtimeClass: z.string().max(63).optional(),
  /** Secrets handed to the sandbox; a template chain and the sandbox append theirs, parent first. */
  credentials: credentialsSchema.optional(),
};

/**
 * The per-sandbox ServiceAccount (Kubernetes): annotations for workload identity, as seed tutorial 000
 * §7 uses them (`eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account`,
 * `azure.workload.identity/client-id`). Template only: templates are written by admins.
 */
export const serviceAccountSchema = z.object({
  annotations: z
    .record(z.string(), z.string().max(4096, { error: 'must be at most 4096 characters' }))
    .superRefine((annotations, ctx) => {
      if (Object.keys(annotations).length > 16)
        ctx.addIssue({ code: 'custom', message: 'must have at most 16 annotations' });
      for (const key of Object.keys(annotations)) {
        const problem = qualifiedKeyProblem(key);
        if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
      }
    })
    .optional(),
});

export const templateSpecSchema = z.object({
  ...sharedSpecShape,
  serviceAccount: serviceAccountSchema.optional(),
  description: z.string().max(1024).optional(),
  inheritsFrom: templateRefSchema.optional(),
  harness: harnessSchema.optional(),
  /**
   * Shell snippets run once per start, in order, before the sandbox process (one `/bin/sh -c` with
   * `set -e`); a template chain appends them parent first. Template only, as in the seed product.
   */
  initScripts: z.array(z.string().max(65_536)).max(64).optional(),
});
export type TemplateSpec = z.infer<typeof templateSpecSchema>;

export const desiredStateSchema = z.enum(['Running', 'Stopped']);

export const forwardedPortSchema = z.object({
  port: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be between 1 and 65535' })
    .max(65535, { error: 'must be between 1 and 65535' }),
  protocol: z.enum(['http', 'tcp']).optional(),
  /**
   * A name for the forward (`web`), unique in the sandbox: the seed SDK's
   * `port_forwards.create(name="web", port=8000)` and `delete("web")`. Starts with a letter, so it is
   * never mistaken for a port number in `DELETE …/ports/{port or name}`.
   */
  name: z
    .string({ error: 'must be a string' })
    .max(63, { error: 'must be at most 63 characters' })
    .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, {
      error:
        'must be lowercase letters, digits and "-", starting with a letter and ending with a letter or digit',
    })
    .optional(),
});
export type ForwardedPort = z.infer<typeof forwardedPortSchema>;

export const sandboxSpecSchema = z.object({
  ...sharedSpecShape,
  templateRef: templateRefSchema,
  /** What the user wants; the controller drives the world towards it (stop/resume flip it). */
  desiredState: desiredStateSchema.optional(),
  createdBy: userIdentitySchema.optional(),
  /**
   * Users the owner shared the sandbox with, and their role (viewer reads, operator works in it). Set
   * only through the share routes, never by a create or PATCH body.
   */
  sharedWith: z
    .array(
      z.object({
        sub: z.string().max(128),
        role: z.enum(['viewer', 'operator']),
        sharedAt: z.string().max(64),
        sharedBy: z.string().max(128).optional(),
      }),
    )
    .max(64)
    .optional(),
  /** Ports inside the sandbox reachable through the preview proxy and port-forward. */
  forwardedPorts: z.array(forwardedPortSchema).max(64).optional(),
});
export type SandboxSpec = z.infer<typeof sandboxSpecSchema>;

export const PHASES = ['Creating', 'Running', 'Stopped', 'Error', 'Deleting'] as const;
export const phaseSchema = z.enum(PHASES);
export type SandboxPhase = z.infer<typeof phaseSchema>;

export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.number().int().optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

export const agentConfigureStatusSchema = z.object({
  lastConfiguredAt: z.string(),
  installCommandHash: z.string(),
  entrypoint: z.array(z.string()),
  installExitCode: z.number().int(),
  maxConcurrentInvokes: z.number().int(),
  defaultInvokeTimeoutSeconds: z.number().int(),
  /**
   * Not in the seed's status (it keeps only the hash): the install argv and the files' paths, so a
   * client can show what was configured (`GET …/agent/config`). Never file contents. The install
   * argv is no more than the install log already prints (`[configure] running install: …`).
   */
  installCommand: z.array(z.string()).optional(),
  files: z
    .array(z.object({ path: z.string(), sizeBytes: z.number().int(), mode: z.string().optional() }))
    .optional(),
});
export type AgentConfigureStatus = z.infer<typeof agentConfigureStatusSchema>;

export const sandboxStatusSchema = z.object({
  phase: phaseSchema.optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  conditions: z.array(conditionSchema).optional(),
  observedGeneration: z.number().int().optional(),
  resolvedTemplate: z.string().optional(),
  templateResourceVersion: z.string().optional(),
  /** Local platform: container and volume. Kubernetes: pod and claim. Both deterministic from the name. */
  podName: z.string().optional(),
  pvcName: z.string().optional(),
  startedAt: z.string().optional(),
  stoppedAt: z.string().optional(),
  lastActivityTimestamp: z.string().optional(),
  restartCount: z.number().int().optional(),
  /** Failed reconcile attempts in a row; reset on success. Past the budget the phase becomes Error. */
  failureCount: z.number().int().optional(),
  nextRetryAt: z.string().optional(),
  agentConfigure: agentConfigureStatusSchema.optional(),
  /**
   * Kubernetes: who created the sandbox through the router, written by the router through the status
   * subresource, which users who may create Sandbox objects themselves cannot write. The store
   * believes `spec.createdBy` only as this says (anyone with `create sandboxes` could put any user
   * there, and that user's access and credentials would follow). Unused by the local platform, whose
   * store only the router writes.
   */
  createdBy: userIdentitySchema.optional(),
});
export type SandboxStatus = z.infer<typeof sandboxStatusSchema>;

/** Kubernetes' label rules: qualified-name keys, values of at most 63 characters. */
export const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  const entries = Object.entries(labels);
  if (entries.length > LIMITS.maxLabels) {
    ctx.addIssue({ code: 'custom', message: `must have at most ${LIMITS.maxLabels} labels` });
  }
  for (const [key, value] of entries) {
    const problem = qualifiedKeyProblem(key) ?? labelValueProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
  }
});

/** Kubernetes' annotation rules: qualified-name keys, at most 256 KiB for all of them together. */
export const annotationsSchema = z.record(z.string(), z.string()).superRefine((annotations, ctx) => {
  const entries = Object.entries(annotations);
  if (entries.length > LIMITS.maxAnnotations) {
    ctx.addIssue({ code: 'custom', message: `must have at most ${LIMITS.maxAnnotations} annotations` });
  }
  let bytes = 0;
  for (const [key, value] of entries) {
    const problem = qualifiedKeyProblem(key);
    if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    bytes += utf8Bytes(key) + utf8Bytes(value);
  }
  if (bytes > LIMITS.annotationsMaxBytes) {
    ctx.addIssue({
      code: 'custom',
      message: `must be at most ${LIMITS.annotationsMaxBytes / 1024} KiB in total (keys and values), got ${Math.ceil(bytes / 1024)} KiB`,
    });
  }
});

export const ownerReferenceSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

export const objectMetaSchema = z.object({
  name: nameSchema,
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  labels: labelsSchema.optional(),
  annotations: annotationsSchema.optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(ownerReferenceSchema).optional(),
});
export type ObjectMeta = z.infer<typeof objectMetaSchema>;

export type ResourceKind = 'Sandbox' | 'SandboxTemplate' | 'ClusterSandboxTemplate';

export interface Resource<TKind extends ResourceKind = ResourceKind, TSpec = unknown, TStatus = unknown> {
  apiVersion: typeof API_VERSION;
  kind: TKind;
  metadata: ObjectMeta;
  spec: TSpec;
  status?: TStatus;
}

export type Sandbox = Resource<'Sandbox', SandboxSpec, SandboxStatus>;
export type SandboxTemplate = Resource<'SandboxTemplate' | 'ClusterSandboxTemplate', TemplateSpec, never>;

/** Kinds, their scope and their plural names: shared by the stores, the CRD generator and the router. */
export const KINDS: Record<
  ResourceKind,
  { plural: string; singular: string; namespaced: boolean; hasStatus: boolean }
> = {
  Sandbox: { plural: 'sandboxes', singular: 'sandbox', namespaced: true, hasStatus: true },
  SandboxTemplate: {
    plural: 'sandboxtemplates',
    singular: 'sandboxtemplate',
    namespaced: true,
    hasStatus: false,
  },
  ClusterSandboxTemplate: {
    plural: 'clustersandboxtemplates',
    singular: 'clustersandboxtemplate',
    namespaced: false,
    hasStatus: false,
  },
};

export const SANDBOX_FINALIZER = 'agenttier.io/sandbox-cleanup';
export const LABEL_SANDBOX = 'agenttier.io/sandbox';
export const LABEL_SANDBOX_UID = 'agenttier.io/sandbox-uid';
export const LABEL_MANAGED = 'agenttier.io/managed';
export const LABEL_TEMPLATE = 'agenttier.io/template';
export const LABEL_NAMESPACE = 'agenttier.io/namespace';
export const DEFAULT_NAMESPACE = 'default';
