import { isIPv4, isIPv6 } from 'node:net';
import type { Identity } from '../context.ts';

/**
 * What per-client limits count against. A source address alone is a poor key: every local process can
 * send from any of 127.0.0.0/8 (16 million addresses, no setup needed), and anyone with IPv6 has a
 * /64 or more. So a limit counts per authenticated identity when there is one, else per address with
 * all loopback folded into one key and IPv6 folded to its /64.
 */

/** Expands an IPv6 address to its eight 16-bit groups; undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address.split('%')[0]!; // zone id
  // A trailing dotted IPv4 part counts as two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - h.length - t.length).fill(0);
  const groups = [...h, ...fill, ...t];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined;
}

/** The key of a source address: `loopback`, an IPv4 address, an IPv6 /64, or the text itself. */
export function addressKey(address: string | undefined): string {
  const a = (address ?? '').trim().toLowerCase();
  if (isIPv4(a)) return a.startsWith('127.') ? 'loopback' : a;
  const groups = ipv6Groups(a);
  if (!groups) return a || 'unknown';
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // ::ffff:a.b.c.d is IPv4 (a dual-stack socket's view of an IPv4 client).
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff)
    return addressKey(`${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`);
  if (groups.slice(0, 7).every((g) => g === 0) && g7 === 1) return 'loopback';
  return `${[g0, g1, g2, g3].map((g) => g.toString(16)).join(':')}::/64`;
}

/** The key of a caller: its identity when authenticated, else its address (see addressKey). */
export function clientKey(
  identity: Pick<Identity, 'sub'> | null | undefined,
  address: string | undefined,
): string {
  return identity ? `id:${identity.sub}` : `addr:${addressKey(address)}`;
}
