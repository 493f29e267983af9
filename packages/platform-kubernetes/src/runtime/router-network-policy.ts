import type { V1NetworkPolicyEgressRule, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { LABEL_MANAGED } from '@agenttier/contract';
import type { DnsPeer } from './network-policy.ts';
import { DEFAULT_DNS, clusterDnsEgressRule } from './network-policy.ts';
import { SANDBOXD_PORT } from './pod-builder.ts';

/** Every pod of the cluster except sandboxes: users arrive through an ingress controller, the web UI or a port-forward. */
export const DEFAULT_ROUTER_INGRESS_FROM: V1NetworkPolicyPeer[] = [
  {
    namespaceSelector: {},
    podSelector: { matchExpressions: [{ key: LABEL_MANAGED, operator: 'DoesNotExist' }] },
  },
];

export interface RouterNetworkPolicyInput {
  namespace: string;
  name?: string;
  /** Labels selecting the router pods. */
  podLabels: Record<string, string>;
  /** Extra labels on the policy object. */
  labels?: Record<string, string>;
  /** @default 8080 */
  routerPort?: number;
  /** Who may reach the router's port. @default DEFAULT_ROUTER_INGRESS_FROM */
  ingressFrom?: V1NetworkPolicyPeer[];
  /** The API server's addresses (CIDRs); empty means any address on `apiServerPorts`. */
  apiServerCidrs?: string[];
  /** @default [443, 6443] (the `kubernetes` Service port and the usual endpoint port) */
  apiServerPorts?: number[];
  /** @default DEFAULT_DNS */
  dns?: DnsPeer;
  /** More egress (an OIDC issuer when the API server's addresses are pinned, say). */
  extraEgress?: V1NetworkPolicyEgressRule[];
}

/**
 * The router's own NetworkPolicy. In: only `ingressFrom`, only its HTTP port (sandboxes are not in the
 * default, so code in a sandbox cannot call the API even if its own egress were opened). Out: the API
 * server, the cluster DNS pods and sandboxd's port on sandbox pods; nothing else it could be turned
 * against if compromised. A plain manifest (`from`, not client-node's `_from`): it is rendered into
 * the install YAML, never sent through the client.
 */
export function buildRouterNetworkPolicy(input: RouterNetworkPolicyInput): Record<string, unknown> {
  const dns = input.dns ?? DEFAULT_DNS;
  const apiServer = input.apiServerCidrs ?? [];
  const egress: V1NetworkPolicyEgressRule[] = [
    clusterDnsEgressRule(dns),
    {
      ...(apiServer.length ? { to: apiServer.map((cidr) => ({ ipBlock: { cidr } })) } : {}),
      ports: (input.apiServerPorts ?? [443, 6443]).map((port) => ({ protocol: 'TCP', port })),
    },
    {
      to: [{ namespaceSelector: {}, podSelector: { matchLabels: { [LABEL_MANAGED]: 'true' } } }],
      ports: [{ protocol: 'TCP', port: SANDBOXD_PORT }],
    },
    ...(input.extraEgress ?? []),
  ];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: input.name ?? 'agenttier-router',
      namespace: input.namespace,
      ...(input.labels ? { labels: input.labels } : {}),
    },
    spec: {
      podSelector: { matchLabels: input.podLabels },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: input.ingressFrom ?? DEFAULT_ROUTER_INGRESS_FROM,
          ports: [{ protocol: 'TCP', port: input.routerPort ?? 8080 }],
        },
      ],
      egress,
    },
  };
}
