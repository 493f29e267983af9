import type {
  CredentialRef,
  EnvVar,
  ResourcesSpec,
  Sandbox,
  SandboxMode,
  SandboxTemplate,
  TemplateRef,
  TemplateSpec,
} from '@agenttier/contract';
import { parseDurationMs } from '@agenttier/contract';
import { TerminalError } from './reconcile-result.ts';

export const MAX_TEMPLATE_DEPTH = 10;

/** Platform defaults applied when neither the sandbox nor its template chain says otherwise. */
export interface SandboxDefaults {
  image: string;
  cpu: string;
  memory: string;
  pids: number;
  storageSize: string;
  mountPath: string;
}

export const DEFAULTS: SandboxDefaults = {
  image: 'agenttier/general-coding:dev',
  cpu: '2',
  memory: '4Gi',
  pids: 1024,
  storageSize: '10Gi',
  mountPath: '/workspace',
};

/** Everything the runtime needs to build a sandbox, after template chain and sandbox overrides merge. */
export interface EffectiveSandbox {
  mode: SandboxMode;
  image: string;
  pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  resources: { cpu: string; memory: string; pids: number; requests?: ResourcesSpec['requests'] };
  storage: { size: string; mountPath: string; storageClass?: string };
  network: { allowInternet: boolean; allowedDomains: string[] };
  env: EnvVar[];
  /** Annotations of the per-sandbox ServiceAccount (Kubernetes workload identity), merged along the chain. */
  serviceAccountAnnotations?: Record<string, string>;
  /** Template chain's credentials then the sandbox's, parent first (credentialProblems checks them). */
  credentials?: CredentialRef[];
  timeoutMs?: number;
  idleTimeoutMs?: number;
  runtimeClass?: string;
  workingDir: string;
  shell: string;
  onStart?: string;
  agent: {
    entrypoint?: string[];
    installCommand?: string[];
    workingDir?: string;
    env?: EnvVar[];
    maxConcurrentInvokes?: number;
    defaultInvokeTimeoutMs?: number;
  };
  templateName: string;
}

export type TemplateLookup = (
  ref: TemplateRef,
  sandboxNamespace: string,
) => Promise<SandboxTemplate | undefined>;

/** Follows `inheritsFrom` from the referenced template to the root; returns root first. */
export async function resolveTemplateChain(
  ref: TemplateRef,
  sandboxNamespace: string,
  lookup: TemplateLookup,
): Promise<SandboxTemplate[]> {
  const chain: SandboxTemplate[] = [];
  const seen = new Set<string>();
  let next: TemplateRef | undefined = ref;
  while (next) {
    const kind = next.kind ?? 'ClusterSandboxTemplate';
    const key = `${kind}/${kind === 'SandboxTemplate' ? (next.namespace ?? sandboxNamespace) : ''}/${next.name}`;
    if (seen.has(key)) {
      throw new TerminalError('UNPROCESSABLE', `template inheritance cycle at ${next.name}`);
    }
    if (chain.length >= MAX_TEMPLATE_DEPTH) {
      throw new TerminalError(
        'UNPROCESSABLE',
        `template chain exceeds maximum depth of ${MAX_TEMPLATE_DEPTH}`,
      );
    }
    seen.add(key);
    const template = await lookup(next, sandboxNamespace);
    if (!template) {
      throw new TerminalError(
        'TEMPLATE_NOT_FOUND',
        `template "${next.name}" not found; list templates with \`agenttier template list\``,
      );
    }
    chain.unshift(template);
    next = template.spec.inheritsFrom;
  }
  return chain;
}

function mergeEnv(base: EnvVar[] | undefined, over: EnvVar[] | undefined): EnvVar[] {
  const out = new Map<string, EnvVar>();
  for (const e of base ?? []) out.set(e.name, e);
  for (const e of over ?? []) out.set(e.name, e);
  return [...out.values()];
}

/** Merges a template chain root→leaf: blocks replace, env merges by name, harness/agent merge deeply. */
export function mergeTemplateChain(chain: SandboxTemplate[]): TemplateSpec {
  let merged: TemplateSpec = {};
  for (const t of chain) {
    const s = t.spec;
    merged = {
      ...merged,
      ...(s.mode ? { mode: s.mode } : {}),
      ...(s.description ? { description: s.description } : {}),
      ...(s.image ? { image: s.image } : {}),
      ...(s.resources ? { resources: s.resources } : {}),
      ...(s.storage ? { storage: s.storage } : {}),
      ...(s.network ? { network: s.network } : {}),
      ...(s.timeout ? { timeout: s.timeout } : {}),
      ...(s.idleTimeout ? { idleTimeout: s.idleTimeout } : {}),
      ...(s.runtimeClass ? { runtimeClass: s.runtimeClass } : {}),
      env: mergeEnv(merged.env, s.env),
      ...(merged.serviceAccount?.annotations || s.serviceAccount?.annotations
        ? {
            serviceAccount: {
              annotations: { ...merged.serviceAccount?.annotations, ...s.serviceAccount?.annotations },
            },
          }
        : {}),
      ...(merged.credentials?.length || s.credentials?.length
        ? { credentials: [...(merged.credentials ?? []), ...(s.credentials ?? [])] }
        : {}),
      harness: {
        ...merged.harness,
        ...s.harness,
        hooks: s.harness?.hooks ?? merged.harness?.hooks,
        tools: [...(merged.harness?.tools ?? []), ...(s.harness?.tools ?? [])],
        agent: {
          ...merged.harness?.agent,
          ...s.harness?.agent,
          env: mergeEnv(merged.harness?.agent?.env, s.harness?.agent?.env),
        },
      },
    };
  }
  return merged;
}

/**
 * Sandbox fields override the merged template field by field (reference §1.8, with one deliberate
 * change: `resources` merge per field, so overriding only memory keeps the template's CPU).
 */
export function mergeSandboxWithTemplate(
  sandbox: Sandbox,
  template: TemplateSpec,
  templateName: string,
  defaults: SandboxDefaults = DEFAULTS,
): EffectiveSandbox {
  const s = sandbox.spec;
  const limits = { ...template.resources?.limits, ...s.resources?.limits };
  const requests = { ...template.resources?.requests, ...s.resources?.requests };
  const timeout = s.timeout ?? template.timeout;
  const idle = s.idleTimeout ?? template.idleTimeout;
  const timeoutMs = timeout ? parseDurationMs(timeout) : undefined;
  const idleMs = idle ? parseDurationMs(idle) : undefined;
  const agent = template.harness?.agent ?? {};
  const defaultInvokeTimeoutMs = agent.defaultInvokeTimeout
    ? parseDurationMs(agent.defaultInvokeTimeout)
    : undefined;
  const mountPath = s.storage?.mountPath ?? template.storage?.mountPath ?? defaults.mountPath;
  const storageClass = s.storage?.storageClass ?? template.storage?.storageClass;
  const runtimeClass = s.runtimeClass ?? template.runtimeClass;
  return {
    mode: s.mode ?? template.mode ?? 'code',
    image: s.image?.repository ?? template.image?.repository ?? defaults.image,
    pullPolicy: s.image?.pullPolicy ?? template.image?.pullPolicy ?? 'IfNotPresent',
    resources: {
      cpu: limits.cpu ?? defaults.cpu,
      memory: limits.memory ?? defaults.memory,
      pids: s.resources?.pids ?? template.resources?.pids ?? defaults.pids,
      ...(Object.keys(requests).length ? { requests } : {}),
    },
    storage: {
      size: s.storage?.size ?? template.storage?.size ?? defaults.storageSize,
      mountPath,
      ...(storageClass ? { storageClass } : {}),
    },
    network: {
      allowInternet: s.network?.allowInternet ?? template.network?.allowInternet ?? false,
      allowedDomains: s.network?.allowedDomains ?? template.network?.allowedDomains ?? [],
    },
    env: mergeEnv(template.env, s.env),
    credentials: [...(template.credentials ?? []), ...(s.credentials ?? [])],
    ...(template.serviceAccount?.annotations && Object.keys(template.serviceAccount.annotations).length
      ? { serviceAccountAnnotations: template.serviceAccount.annotations }
      : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(idleMs ? { idleTimeoutMs: idleMs } : {}),
    ...(runtimeClass ? { runtimeClass } : {}),
    workingDir: template.harness?.workingDir ?? mountPath,
    shell: template.harness?.shell ?? '/bin/bash',
    ...(template.harness?.hooks?.onStart ? { onStart: template.harness.hooks.onStart } : {}),
    agent: {
      ...(agent.entrypoint?.length ? { entrypoint: agent.entrypoint } : {}),
      ...(agent.installCommand?.length ? { installCommand: agent.installCommand } : {}),
      ...(agent.workingDir ? { workingDir: agent.workingDir } : {}),
      ...(agent.env?.length ? { env: agent.env } : {}),
      ...(agent.maxConcurrentInvokes !== undefined
        ? { maxConcurrentInvokes: agent.maxConcurrentInvokes }
        : {}),
      ...(defaultInvokeTimeoutMs ? { defaultInvokeTimeoutMs } : {}),
    },
    templateName,
  };
}

/** Resolves and merges in one call: what the controller and router both need. */
export async function resolveEffectiveSandbox(
  sandbox: Sandbox,
  lookup: TemplateLookup,
  defaults: SandboxDefaults = DEFAULTS,
): Promise<{ effective: EffectiveSandbox; chain: SandboxTemplate[] }> {
  const ns = sandbox.metadata.namespace ?? 'default';
  const chain = await resolveTemplateChain(sandbox.spec.templateRef, ns, lookup);
  const leaf = chain[chain.length - 1];
  const effective = mergeSandboxWithTemplate(
    sandbox,
    mergeTemplateChain(chain),
    leaf?.metadata.name ?? sandbox.spec.templateRef.name,
    defaults,
  );
  return { effective, chain };
}
