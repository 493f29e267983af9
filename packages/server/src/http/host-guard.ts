/**
 * The Host allow-list (DNS rebinding). A page on `evil.example` that rebinds its name to 127.0.0.1
 * reaches the router with `Host: evil.example:8080`; only names the operator chose are served.
 */

/** A parsed `Host` header: lower-case name (IPv6 keeps its brackets) and the port when given. */
export interface HostHeader {
  hostname: string;
  port?: number;
}

/** One allow-list entry: a name, and a port when the entry pins one (`name:port`). */
export interface AllowedHost {
  hostname: string;
  port?: number;
}

/** The loopback names a browser may use for a router on this machine. */
export const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

const HOSTNAME_RE = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)$/;

/** Parses a Host header; undefined when it is missing or not a plain `name[:port]`. */
export function parseHostHeader(value: string | undefined): HostHeader | undefined {
  if (!value) return undefined;
  const text = value.trim().toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const hostname = m[1]!.replace(/\.$/, ''); // `localhost.` is `localhost`
  if (!HOSTNAME_RE.test(hostname)) return undefined;
  if (m[2] === undefined) return { hostname };
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { hostname, port } : undefined;
}

/**
 * Parses configured entries: `name` (any port) or `name:port`. Throws with every bad entry named, so a
 * typo in `--allowed-host` stops the start instead of locking everyone out later.
 */
export function parseAllowedHosts(entries: readonly string[]): AllowedHost[] {
  const out: AllowedHost[] = [];
  const bad: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const parsed = parseHostHeader(entry);
    if (!parsed || parsed.hostname.includes('*')) bad.push(entry);
    else out.push(parsed);
  }
  if (bad.length)
    throw new Error(
      `invalid allowed host(s): ${bad.join(', ')}; use a DNS name or address, optionally with :port (e.g. agenttier.example.com or 10.0.0.5:8080)`,
    );
  return out;
}

/** Whether `host` matches an entry: same name, and the same port when the entry pins one. */
export function hostMatches(host: HostHeader, allowed: readonly AllowedHost[]): boolean {
  return allowed.some(
    (a) => a.hostname === host.hostname && (a.port === undefined || a.port === (host.port ?? 80)),
  );
}

/** The default list: the loopback names, on any port (see BrowserPolicyOpts.allowedHosts). */
export function loopbackHosts(): AllowedHost[] {
  return LOOPBACK_HOSTNAMES.map((hostname) => ({ hostname }));
}
