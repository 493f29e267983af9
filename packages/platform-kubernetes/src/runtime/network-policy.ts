import { BlockList, isIP } from 'node:net';
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

/**
 * Never reachable from a sandbox, even one allowed the internet: the private ranges that hold the
 * cluster's pods, services, nodes (kubelets), the API server and the router on almost every cluster,
 * plus link-local (cloud metadata at 169.254.169.254). Clusters on public addresses add their pod,
 * service and node CIDRs and the API server's address (Helm `networking.clusterCidrs`).
 */
export const DEFAULT_BLOCKED_CIDRS = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
];

/** The cluster DNS pods: the only place a sandbox may send DNS queries. */
export interface DnsPeer {
  /** @default 'kube-system' */
  namespace: string;
  /** @default { 'k8s-app': 'kube-dns' } (CoreDNS keeps that label) */
  podLabels: Record<string, string>;
}

export const DEFAULT_DNS: DnsPeer = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

/** `a.b.c.d/n`, `x::/n`, or a bare address (taken as one host); throws on anything else. */
export function parseCidr(text: string): string {
  const t = text.trim();
  const [addr, bits, extra] = t.split('/');
  const family = isIP(addr ?? '');
  if (!family || extra !== undefined) throw new Error(`"${text}" is not an IP address or CIDR`);
  if (bits === undefined) return hostCidr(addr!);
  const n = Number(bits);
  if (!/^\d+$/.test(bits) || n > (family === 6 ? 128 : 32))
    throw new Error(`"${text}" has an invalid prefix length`);
  return t;
}

/** Whether `ip` lies in one of `cidrs`. */
export function inCidrs(ip: string, cidrs: string[]): boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const type = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(addr!, Number(bits ?? (type === 'ipv6' ? 128 : 32)), type);
  }
  const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  return isIP(ip) !== 0 && list.check(ip, type);
}

/**
 * The well-known NAT64 prefix (RFC 6052). On an IPv6-only cluster with NAT64 (DNS64 answers with it,
 * and the NAT gateway translates to IPv4, private addresses included), `64:ff9b::a00:5` is 10.0.0.5:
 * every blocked IPv4 range is blocked through it too. Another NAT64 prefix goes in blockedCidrs.
 */
const NAT64_PREFIX = '64:ff9b::';

/** The blocked ranges plus the NAT64 image of each IPv4 one (`10.0.0.0/8` → `64:ff9b::a00:0/104`). */
export function withNat64Images(cidrs: string[]): string[] {
  const out = [...cidrs];
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    if (isIP(addr!) !== 4) continue;
    const n = addr!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const hi = Math.floor(n / 65536).toString(16);
    const lo = (n % 65536).toString(16);
    const image = `${NAT64_PREFIX}${hi}:${lo}/${96 + Number(bits ?? 32)}`;
    if (!out.includes(image)) out.push(image);
  }
  return out;
}

/**
 * The resolved addresses an allowed domain may open: none inside a blocked range (directly, as an
 * IPv4-mapped IPv6 address, or through NAT64), and no IPv4-mapped IPv6 address at all (never a
 * destination on the wire, and CNIs written in Go may read `::ffff:a.b.c.d/128` as the IPv4 host).
 */
export function allowedAddresses(ips: string[], blockedCidrs: string[]): string[] {
  const blocked = withNat64Images(blockedCidrs);
  return [...new Set(ips)]
    .filter((ip) => !inCidrs(ip, blocked) && !(isIP(ip) === 6 && inCidrs(ip, ['::ffff:0:0/96'])))
    .sort();
}

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
  /** Excepted from "allow internet", and never allowed through a resolved domain. @default DEFAULT_BLOCKED_CIDRS */
  blockedCidrs?: string[];
  /** @default DEFAULT_DNS */
  dns?: DnsPeer;
  now?: () => Date;
}

const v6 = (cidr: string) => cidr.includes(':');

/** An ipBlock for one address (/32 or /128). */
export function hostCidr(ip: string): string {
  return isIP(ip) === 6 ? `${ip}/128` : `${ip}/32`;
}

/** Egress to the cluster DNS pods on port 53 (UDP and TCP) and nowhere else. */
export function clusterDnsEgressRule(dns: DnsPeer): V1NetworkPolicyEgressRule {
  return {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dns.namespace } },
        podSelector: { matchLabels: dns.podLabels },
      },
    ],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
}

/**
 * The egress rules: DNS to the cluster DNS pods only; then everything minus the blocked ranges, or
 * only the allowed domains' addresses (those inside a blocked range are dropped: a domain that
 * resolves to the API server or a pod must not open it).
 */
export function egressRules(
  input: Pick<NetworkPolicyInput, 'effective' | 'resolvedIps' | 'blockedCidrs' | 'dns'>,
): V1NetworkPolicyEgressRule[] {
  const dns = input.dns ?? DEFAULT_DNS;
  const rules: V1NetworkPolicyEgressRule[] = [clusterDnsEgressRule(dns)];
  const given = input.blockedCidrs ?? DEFAULT_BLOCKED_CIDRS;
  const blocked = withNat64Images(given);
  if (input.effective.network.allowInternet) {
    const to: V1NetworkPolicyPeer[] = [
      { ipBlock: { cidr: '0.0.0.0/0', except: blocked.filter((c) => !v6(c)) } },
      { ipBlock: { cidr: '::/0', except: blocked.filter(v6) } },
    ];
    for (const peer of to) if (!peer.ipBlock?.except?.length) delete peer.ipBlock!.except;
    rules.push({ to });
  } else {
    const ips = allowedAddresses(input.resolvedIps ?? [], given);
    if (ips.length) rules.push({ to: ips.map((ip) => ({ ipBlock: { cidr: hostCidr(ip) } })) });
  }
  return rules;
}

/**
 * Default deny both ways. In: only the router's pods, only sandboxd's port. Out: the cluster DNS
 * pods, plus the internet outside the cluster's ranges when the template allows it, or else the
 * addresses of its allowed domains.
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
