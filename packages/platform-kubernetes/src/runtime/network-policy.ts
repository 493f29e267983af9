import { isIP } from 'node:net';
import type { Sandbox } from '@agenttier/contract';
import type { EffectiveSandbox } from '@agenttier/core';
import type {
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyPeer,
} from '@kubernetes/client-node';
import {
  ANNOTATION_ALLOWED_DOMAINS,
  ANNOTATION_RESOLVED_AT,
  childLabels,
  childNames,
  ownerReference,
  sandboxSelector,
} from './children.ts';
import { SANDBOXD_PORT } from './pod-builder.ts';

/** Link-local ranges hold cloud metadata services (169.254.169.254): never reachable from a sandbox. */
export const DEFAULT_BLOCKED_CIDRS = ['169.254.0.0/16', 'fe80::/10'];

export interface RouterPeer {
  /** Namespace the router runs in. */
  namespace: string;
  /** Labels of the router pods. */
  podLabels: Record<string, string>;
}

export interface NetworkPolicyInput {
  sandbox: Sandbox;
  effective: EffectiveSandbox;
  router: RouterPeer;
  /** Addresses `effective.network.allowedDomains` resolved to (see domain-resolver.ts). */
  resolvedIps?: string[];
  /** Excepted from "allow internet". @default DEFAULT_BLOCKED_CIDRS */
  blockedCidrs?: string[];
  now?: () => Date;
}

const v6 = (cidr: string) => cidr.includes(':');

/** An ipBlock for one address (/32 or /128). */
export function hostCidr(ip: string): string {
  return isIP(ip) === 6 ? `${ip}/128` : `${ip}/32`;
}

/** The egress rules: DNS always; then everything (minus blocked ranges), or only the allowed domains' addresses. */
export function egressRules(
  input: Pick<NetworkPolicyInput, 'effective' | 'resolvedIps' | 'blockedCidrs'>,
): V1NetworkPolicyEgressRule[] {
  const rules: V1NetworkPolicyEgressRule[] = [
    {
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
  ];
  const blocked = input.blockedCidrs ?? DEFAULT_BLOCKED_CIDRS;
  if (input.effective.network.allowInternet) {
    const to: V1NetworkPolicyPeer[] = [
      { ipBlock: { cidr: '0.0.0.0/0', except: blocked.filter((c) => !v6(c)) } },
      { ipBlock: { cidr: '::/0', except: blocked.filter(v6) } },
    ];
    for (const peer of to) if (!peer.ipBlock?.except?.length) delete peer.ipBlock!.except;
    rules.push({ to });
  } else if (input.resolvedIps?.length) {
    rules.push({
      to: [...new Set(input.resolvedIps)].sort().map((ip) => ({ ipBlock: { cidr: hostCidr(ip) } })),
    });
  }
  return rules;
}

/**
 * Default deny both ways. In: only the router's pods, only sandboxd's port. Out: DNS, plus the
 * internet when the template allows it, or else the addresses of its allowed domains.
 */
export function buildNetworkPolicy(input: NetworkPolicyInput): V1NetworkPolicy {
  const { sandbox, effective } = input;
  const domains = effective.network.allowedDomains;
  const annotations: Record<string, string> = {};
  if (!effective.network.allowInternet && domains.length) {
    annotations[ANNOTATION_ALLOWED_DOMAINS] = domains.join(',');
    annotations[ANNOTATION_RESOLVED_AT] = (input.now?.() ?? new Date()).toISOString();
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: childNames(sandbox).networkPolicy,
      namespace: sandbox.metadata.namespace ?? 'default',
      labels: childLabels(sandbox, effective.templateName),
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [ownerReference(sandbox)],
    },
    spec: {
      podSelector: { matchLabels: sandboxSelector(sandbox) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          _from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': input.router.namespace } },
              podSelector: { matchLabels: input.router.podLabels },
            },
          ],
          ports: [{ protocol: 'TCP', port: SANDBOXD_PORT }],
        },
      ],
      egress: egressRules(input),
    },
  };
}
