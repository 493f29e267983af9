import { BlockList, isIP, isIPv4 } from 'node:net';

/**
 * Which peers may name the client in `X-Forwarded-For` (docs/auth.md, "Rate limits per client
 * address"). By default none: the client is the socket's peer, and a forwarded header is ignored, so a
 * client cannot pick its own address (and its own fresh rate-limit bucket) by sending one.
 */
export type TrustsProxy = (address: string) => boolean;

/** `::ffff:a.b.c.d` (a dual-stack socket's view of an IPv4 peer) as `a.b.c.d`. */
function plain(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * A check from a list of addresses and CIDR ranges (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`). Throws on
 * an entry that is neither, naming it: a typo must not silently trust nobody (or everybody).
 */
export function trustedProxies(entries: readonly string[]): TrustsProxy {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [addr = '', bits, extra] = entry.split('/');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max)
      throw new Error(
        `trusted proxy ${JSON.stringify(raw)} is not an IP address or CIDR range (e.g. 10.0.0.0/8, fd00::/8)`,
      );
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return (address) => {
    const a = plain(address);
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** `AGENTTIER_TRUSTED_PROXIES`: comma-separated addresses and CIDR ranges; unset or empty: none. */
export function trustedProxiesFromEnv(env: Record<string, string | undefined>): string[] {
  return (env.AGENTTIER_TRUSTED_PROXIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The client of a request: the socket's peer unless that peer is a trusted proxy, then the right-most
 * `X-Forwarded-For` entry that is not a trusted proxy (entries left of it were written by the client
 * and prove nothing). A malformed entry ends the walk at the last address known good.
 */
export function clientAddressOf(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusts: TrustsProxy | undefined,
): string {
  let client = peer ?? 'unknown';
  if (!trusts || !trusts(client)) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '')).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plain(hops[i]!.trim());
    if (isIP(hop) === 0) break;
    client = isIPv4(hop) ? hop : hop.toLowerCase();
    if (!trusts(client)) break;
  }
  return client;
}
