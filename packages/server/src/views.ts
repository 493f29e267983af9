import type { SandboxTemplate, Sandbox, SandboxView, TemplateView } from '@agenttier/contract';
import { redactedText, volumeName, workloadName } from '@agenttier/core';

/**
 * The REST shape of a sandbox: the seed product's flat fields, RFC 3339 times, never `null` lists.
 * Viewers read it but may not read env: messages (engine errors quoting a container's environment) are
 * redacted as the events feed's are.
 */
export function sandboxView(sb: Sandbox): SandboxView {
  const st = sb.status ?? {};
  const phase = sb.metadata.deletionTimestamp ? 'Deleting' : (st.phase ?? 'Creating');
  return {
    sandboxId: sb.metadata.name,
    name: sb.metadata.name,
    namespace: sb.metadata.namespace ?? 'default',
    uid: sb.metadata.uid ?? '',
    status: phase,
    phase,
    desiredState: sb.spec.desiredState ?? 'Running',
    mode: sb.spec.mode ?? 'code',
    templateRef: st.resolvedTemplate ?? sb.spec.templateRef.name,
    podName: st.podName ?? workloadName(sb),
    pvcName: st.pvcName ?? volumeName(sb),
    message: redactedText(sb, st.message ?? ''),
    ...(st.reason ? { reason: st.reason } : {}),
    createdAt: sb.metadata.creationTimestamp ?? '',
    ...(st.startedAt ? { startedAt: st.startedAt } : {}),
    ...(st.lastActivityTimestamp ? { lastActivityAt: st.lastActivityTimestamp } : {}),
    ...(sb.spec.timeout ? { timeout: sb.spec.timeout } : {}),
    ...(sb.spec.idleTimeout ? { idleTimeout: sb.spec.idleTimeout } : {}),
    ...(sb.spec.createdBy ? { createdBy: sb.spec.createdBy } : {}),
    labels: sb.metadata.labels ?? {},
    conditions: (st.conditions ?? []).map((c) =>
      c.message ? { ...c, message: redactedText(sb, c.message) } : c,
    ),
    resourceVersion: sb.metadata.resourceVersion ?? '',
  };
}

export function templateView(t: SandboxTemplate): TemplateView {
  return {
    name: t.metadata.name,
    kind: t.kind,
    ...(t.metadata.namespace ? { namespace: t.metadata.namespace } : {}),
    description: t.spec.description ?? '',
    image: t.spec.image?.repository ?? '',
    mode: t.spec.mode ?? 'code',
    resourceVersion: t.metadata.resourceVersion ?? '',
    createdAt: t.metadata.creationTimestamp ?? '',
    labels: t.metadata.labels ?? {},
    spec: t.spec,
  };
}
