import { resolve4, resolve6 } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Addresses of one domain name (A and AAAA). Injectable so tests never touch DNS. */
export type DomainResolver = (domain: string) => Promise<string[]>;

export const systemResolver: DomainResolver = async (domain) => {
  const [v4, v6] = await Promise.allSettled([resolve4(domain), resolve6(domain)]);
  const out = [
    ...(v4.status === 'fulfilled' ? v4.value : []),
    ...(v6.status === 'fulfilled' ? v6.value : []),
  ];
  if (out.length === 0) throw new Error(`${domain} has no A or AAAA records`);
  return out;
};

export interface Resolution {
  ips: string[];
  /** Domains that could not be resolved (or are wildcards, which DNS cannot enumerate). */
  unresolved: string[];
}

/**
 * Resolves allow-listed domains to addresses. A literal IP passes through; a wildcard cannot be
 * resolved and is reported; a failed lookup keeps that domain's `previous` addresses, so a DNS blip
 * never cuts a sandbox off.
 */
export async function resolveDomains(
  domains: string[],
  resolver: DomainResolver,
  previous: Map<string, string[]> = new Map(),
): Promise<Resolution & { byDomain: Map<string, string[]> }> {
  const byDomain = new Map<string, string[]>();
  const unresolved: string[] = [];
  await Promise.all(
    domains.map(async (d) => {
      const domain = d.trim().toLowerCase();
      if (!domain) return;
      if (isIP(domain)) return void byDomain.set(domain, [domain]);
      if (domain.includes('*')) return void unresolved.push(domain);
      try {
        byDomain.set(
          domain,
          (await resolver(domain)).filter((ip) => isIP(ip) !== 0),
        );
      } catch {
        unresolved.push(domain);
        const old = previous.get(domain);
        if (old) byDomain.set(domain, old);
      }
    }),
  );
  const ips = [...new Set([...byDomain.values()].flat())].sort();
  return { ips, unresolved: unresolved.sort(), byDomain };
}
