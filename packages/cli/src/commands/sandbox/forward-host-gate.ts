/**
 * DNS rebinding against `agenttier sandbox port-forward`. A page on a site the attacker controls can
 * point its own name at 127.0.0.1 and then read whatever answers on a loopback port: through a port
 * forward, the app in the sandbox (red team: a rebinding page in Chromium read the forwarded app in
 * both modes). Its requests carry the attacker's name as `Host`; a browser only sends a loopback name
 * when it really connected to loopback by that name. So a forward listening on loopback refuses an HTTP
 * request whose `Host` is not a loopback name, with 421, before a byte reaches the sandbox. Other
 * protocols pass untouched (only the first bytes of a connection are looked at). docs/security.md,
 * "Port forwards and DNS rebinding".
 */

/** How much of a connection's start is read to find an HTTP request's headers. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]`, with or without a port and a trailing dot. */
export function isLoopbackHost(value: string | undefined): boolean {
  if (value === undefined) return false;
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::\d{1,5})?$/.exec(value.trim().toLowerCase());
  if (!m) return false;
  const name = m[1]!.replace(/\.$/, '');
  if (name === '[::1]' || name === 'localhost' || /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.localhost$/.test(name))
    return true;
  const quad = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return quad !== null && quad.slice(1).every((n) => Number(n) <= 255);
}

/** Whether a listening address is loopback only (the gate applies; elsewhere any Host may be right). */
export function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

export type GateVerdict = { kind: 'more' } | { kind: 'pass' } | { kind: 'refuse'; host: string };

const METHOD_PREFIX = /^[A-Z]{1,20}$/;
const REQUEST_LINE = /^[A-Z]{1,20} \S+ HTTP\/\d\.\d$/;

/**
 * What to do with a connection given its first bytes: wait for more, pass it (not HTTP, or HTTP with a
 * loopback Host), or refuse it (HTTP naming another host, several or no Host, or a head over
 * {@link MAX_HEAD_BYTES}).
 */
export function gateFirstBytes(buf: Buffer): GateVerdict {
  const text = buf.subarray(0, MAX_HEAD_BYTES).toString('latin1');
  const space = text.indexOf(' ');
  const method = space < 0 ? text : text.slice(0, space);
  // Not an HTTP method token: another protocol (a database, SSH, TLS), passed as it is.
  if (!METHOD_PREFIX.test(method)) return method === '' ? { kind: 'more' } : { kind: 'pass' };
  if (space < 0) return { kind: 'more' };
  const lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) return buf.length >= MAX_HEAD_BYTES ? { kind: 'pass' } : { kind: 'more' };
  const requestLine = text.slice(0, lineEnd);
  // HTTP/2 with prior knowledge (`PRI * HTTP/2.0`) is never a browser's.
  if (!REQUEST_LINE.test(requestLine) || method === 'PRI') return { kind: 'pass' };
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0)
    return buf.length >= MAX_HEAD_BYTES ? { kind: 'refuse', host: '(head too large)' } : { kind: 'more' };
  const hosts = text
    .slice(lineEnd + 2, headEnd)
    .split('\r\n')
    .filter((line) => /^host\s*:/i.test(line))
    .map((line) => line.slice(line.indexOf(':') + 1).trim());
  if (hosts.length !== 1) return { kind: 'refuse', host: hosts.length ? hosts.join(', ') : '(none)' };
  return isLoopbackHost(hosts[0]) ? { kind: 'pass' } : { kind: 'refuse', host: hosts[0]! };
}

/** Why a request was refused, for the person who sees it in the browser. */
export function refusalText(host: string): string {
  return `agenttier port-forward: this forward answers only loopback host names (localhost, 127.0.0.1, [::1]), not "${host.slice(0, 100).replace(/[^\x20-\x7e]/g, '?')}": a page that rebinds its own name to 127.0.0.1 must not read the sandbox's app\n`;
}

/** The raw answer to a refused request on a TCP forward (the connection is closed after it). */
export function refusalFor(host: string): string {
  const body = refusalText(host);
  return `HTTP/1.1 421 Misdirected Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
