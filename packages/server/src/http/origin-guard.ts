/**
 * Origin checks (cross-site request forgery, cross-site WebSocket hijacking). Browsers send `Origin`
 * on every cross-origin request that can change state and on every WebSocket handshake; a page on
 * another site must not stop a sandbox or open a terminal with the user's reach to loopback. Clients
 * that are not browsers (CLI, SDK, curl) send no Origin and are not affected.
 */

/**
 * Parses configured CORS origins (`https://app.example.com`, `http://localhost:5173`). Throws with every
 * bad entry named; `*` is refused on purpose (any site could then drive the API).
 */
export function parseCorsOrigins(entries: readonly string[]): string[] {
  const out: string[] = [];
  const bad: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== entry.replace(/\/$/, '').toLowerCase())
      bad.push(entry);
    else out.push(url.origin);
  }
  if (bad.length)
    throw new Error(
      `invalid CORS origin(s): ${bad.join(', ')}; give scheme://host[:port] with no path, e.g. https://app.example.com (a wildcard is not accepted)`,
    );
  return out;
}

/**
 * Whether a request's Origin may act on the API: absent (not a browser), the API's own origin (the
 * Host the request was sent to, already checked against the allow-list), or a configured CORS origin.
 * `Origin: null` (sandboxed frames, file: pages) is foreign.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  corsOrigins: readonly string[],
): boolean {
  if (origin === undefined) return true;
  const o = origin.trim().toLowerCase();
  if (host) {
    const h = host.trim().toLowerCase();
    if (o === `http://${h}` || o === `https://${h}`) return true;
  }
  return corsOrigins.includes(o);
}
