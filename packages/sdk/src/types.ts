import type { EnvVar, ResourcesSpec, SandboxPhase, SandboxView, TemplateSpec } from '@agenttier/contract';

export type { ExecResponse, FileEntry, SandboxPhase, SandboxView, TemplateSpec } from '@agenttier/contract';

/** Every call accepts a signal; aborting rejects with the signal's reason. */
export interface CallOpts {
  signal?: AbortSignal;
}

/** A template as `GET /api/v1/templates` shows it. */
export interface TemplateView {
  name: string;
  kind: 'ClusterSandboxTemplate' | 'SandboxTemplate' | (string & NonNullable<unknown>);
  namespace?: string;
  description: string;
  image: string;
  mode: string;
  resourceVersion: string;
  spec: TemplateSpec;
}

export interface CreateSandboxOpts extends CallOpts {
  /** Sandbox name: lowercase letters, digits and `-` (DNS label). */
  name: string;
  /** Template to start from (a ClusterSandboxTemplate unless `templateKind` says otherwise). */
  template: string;
  /** @default ClusterSandboxTemplate // resolved by the server */
  templateKind?: 'ClusterSandboxTemplate' | 'SandboxTemplate';
  /** @default the server's sandbox namespace ('default') */
  namespace?: string;
  /** `code` (interactive) or `agent` (configure/invoke). @default the template's mode */
  mode?: 'code' | 'agent';
  /** Maximum lifetime as a Go duration, e.g. `"8h"`. @default the template's */
  timeout?: string;
  /** Stop after this long without activity, e.g. `"30m"`. @default the template's */
  idleTimeout?: string;
  /** Workspace volume size, e.g. `"10Gi"`. @default the template's */
  storageSize?: string;
  resources?: ResourcesSpec;
  /** Extra environment variables, as a map or as `[{name, value}]`. */
  env?: Record<string, string> | EnvVar[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ListSandboxesOpts extends CallOpts {
  /** Only this namespace. @default all namespaces you can see */
  namespace?: string;
  /** Only this phase (exact match). */
  status?: SandboxPhase | (string & NonNullable<unknown>);
}

export interface WaitOpts extends CallOpts {
  /** Give up after this long with a TimeoutError. @default 120000 */
  timeoutMs?: number;
  /** Time between polls. @default 1000 */
  pollIntervalMs?: number;
  /** Called whenever the observed phase changes (and once with the first phase seen). */
  onPhase?: (phase: string, sandbox: SandboxView) => void;
}

export interface ExecOpts extends CallOpts {
  /** Server-side limit for the command, in seconds. @default the server's (30 s) */
  timeoutSec?: number;
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Working directory (absolute). @default the sandbox's working directory */
  cwd?: string;
  /** Text written to the command's stdin. */
  stdin?: string;
}

/** One event of `Sandbox.execStream`. */
export type ExecStreamEvent =
  | { type: 'start'; [key: string]: unknown }
  | { type: 'stdout'; data: string }
  | { type: 'stderr'; data: string }
  | { type: 'exit'; exitCode: number; signal?: string | null; timedOut?: boolean; durationMs?: number };

export interface ApplyTemplateInput {
  name: string;
  /** @default ClusterSandboxTemplate */
  kind?: 'ClusterSandboxTemplate' | 'SandboxTemplate';
  /** Only for namespaced `SandboxTemplate`s. */
  namespace?: string;
  spec: TemplateSpec;
}

export interface ApplyTemplateResult {
  /** `created` when the template did not exist before, else `updated`. */
  action: 'created' | 'updated';
  template: TemplateView;
}
