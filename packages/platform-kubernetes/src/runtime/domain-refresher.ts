import type { KubeConfig, V1NetworkPolicy } from '@kubernetes/client-node';
import { NetworkingV1Api } from '@kubernetes/client-node';
import { API_VERSION, LABEL_MANAGED } from '@agenttier/contract';
import type { Logger } from '@agenttier/core';
import { silentLogger } from '@agenttier/core';
import { isConflict, isNotFound, withRetry } from '../kube/api-errors.ts';
import { ANNOTATION_ALLOWED_DOMAINS, ANNOTATION_RESOLVED_AT } from './children.ts';
import type { DomainResolver } from './domain-resolver.ts';
import { resolveDomains, systemResolver } from './domain-resolver.ts';
import { DEFAULT_BLOCKED_CIDRS, allowedAddresses, hostCidr } from './network-policy.ts';

export interface DomainRefresherOpts {
  kubeConfig: KubeConfig;
  resolver?: DomainResolver;
  /** @default 300000 (5 min; DNS answers of CDNs change faster, so keep it short) */
  intervalMs?: number;
  /** List policies in these namespaces only (RBAC: a Role each). Unset: every namespace. */
  namespaces?: string[];
  /** Addresses in these ranges are never allowed, whatever a domain resolves to. @default DEFAULT_BLOCKED_CIDRS */
  blockedCidrs?: string[];
  logger?: Logger;
  now?: () => Date;
}

/** The addresses an allow-list egress rule holds (every ipBlock that is one host). */
function allowListIps(np: V1NetworkPolicy): string[] {
  const out: string[] = [];
  for (const rule of np.spec?.egress ?? []) {
    for (const peer of rule.to ?? []) {
      const cidr = peer.ipBlock?.cidr;
      if (cidr && (cidr.endsWith('/32') || cidr.endsWith('/128'))) out.push(cidr.replace(/\/\d+$/, ''));
    }
  }
  return out.sort();
}

/**
 * Keeps the `allowedDomains` of every sandbox's NetworkPolicy current: NetworkPolicies only take
 * addresses, so the domains (kept in an annotation) are re-resolved periodically and the ipBlocks
 * rewritten when the answer changed. A failed lookup keeps a domain's previous addresses.
 */
export class DomainRefresher {
  private readonly net: NetworkingV1Api;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private readonly previous = new Map<string, Map<string, string[]>>();

  constructor(private readonly opts: DomainRefresherOpts) {
    this.net = opts.kubeConfig.makeApiClient(NetworkingV1Api);
    this.logger = (opts.logger ?? silentLogger).child({ component: 'domain-refresher' });
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.refreshOnce().catch((err: unknown) =>
        this.logger.warn({ err: String(err) }, 'refresh failed'),
      );
    }, this.opts.intervalMs ?? 300_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over every sandbox NetworkPolicy; returns how many were rewritten. */
  async refreshOnce(): Promise<number> {
    const labelSelector = `${LABEL_MANAGED}=true`;
    const scopes = this.opts.namespaces?.length ? this.opts.namespaces : undefined;
    const lists = scopes
      ? await Promise.all(
          scopes.map((namespace) =>
            withRetry(() => this.net.listNamespacedNetworkPolicy({ namespace, labelSelector }), {
              idempotent: true,
            }),
          ),
        )
      : [
          await withRetry(() => this.net.listNetworkPolicyForAllNamespaces({ labelSelector }), {
            idempotent: true,
          }),
        ];
    let changed = 0;
    for (const np of lists.flatMap((l) => l.items)) {
      const domains = np.metadata?.annotations?.[ANNOTATION_ALLOWED_DOMAINS];
      // Only a sandbox's own policy (a label is not enough: anyone may set one).
      // Nor any reference to a Sandbox: the one the controller writes, naming the policy's own sandbox.
      const sandboxOwned = np.metadata?.ownerReferences?.some(
        (r) =>
          r.apiVersion === API_VERSION &&
          r.kind === 'Sandbox' &&
          r.controller &&
          np.metadata?.name === `${r.name}-netpol`,
      );
      if (!domains || !sandboxOwned) continue;
      const key = `${np.metadata?.namespace}/${np.metadata?.name}`;
      const resolution = await resolveDomains(
        domains.split(','),
        this.opts.resolver ?? systemResolver,
        this.previous.get(key),
      );
      this.previous.set(key, resolution.byDomain);
      const ips = allowedAddresses(resolution.ips, this.opts.blockedCidrs ?? DEFAULT_BLOCKED_CIDRS);
      const current = allowListIps(np);
      if (ips.length === 0 || JSON.stringify(ips) === JSON.stringify(current)) continue;
      if (await this.rewrite(np, ips)) changed++;
    }
    return changed;
  }

  private async rewrite(np: V1NetworkPolicy, ips: string[]): Promise<boolean> {
    const egress = (np.spec?.egress ?? []).filter(
      (r) =>
        !(r.to ?? []).some(
          (p) => p.ipBlock && allowListIps({ spec: { podSelector: {}, egress: [r] } }).length,
        ),
    );
    egress.push({ to: ips.map((ip) => ({ ipBlock: { cidr: hostCidr(ip) } })) });
    const body: V1NetworkPolicy = {
      ...np,
      metadata: {
        ...np.metadata,
        annotations: {
          ...np.metadata?.annotations,
          [ANNOTATION_RESOLVED_AT]: (this.opts.now?.() ?? new Date()).toISOString(),
        },
      },
      spec: { ...np.spec!, egress },
    };
    try {
      await this.net.replaceNamespacedNetworkPolicy({
        namespace: np.metadata!.namespace!,
        name: np.metadata!.name!,
        body,
      });
      this.logger.info(
        { networkPolicy: `${np.metadata?.namespace}/${np.metadata?.name}`, ips },
        'allowed domains re-resolved',
      );
      return true;
    } catch (err) {
      // Someone (a restart of the sandbox) rewrote it meanwhile, or it is gone: the next pass sees the new one.
      if (isConflict(err) || isNotFound(err)) return false;
      throw err;
    }
  }
}
