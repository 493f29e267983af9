/**
 * The browser session cookie. Over TLS it is `__Host-agenttier_session` with `Secure`: the prefix
 * makes the browser refuse it unless it was set by this exact host over HTTPS with `Path=/` and no
 * `Domain`, so a sibling subdomain (a preview, another app under the same parent domain) cannot plant
 * one (cookie tossing, session fixation). Without TLS (loopback) the name has no prefix, since
 * browsers only accept `__Host-` cookies with `Secure`.
 */
export const SESSION_COOKIE_SECURE = '__Host-agenttier_session';
export const SESSION_COOKIE_PLAIN = 'agenttier_session';

export function sessionCookieName(secure: boolean): string {
  return secure ? SESSION_COOKIE_SECURE : SESSION_COOKIE_PLAIN;
}

/** Every value of cookie `name` in a Cookie header, in order (a tossed duplicate shows up twice). */
export function cookieValues(header: string | string[] | undefined, name: string): string[] {
  if (header === undefined) return [];
  const joined = Array.isArray(header) ? header.join('; ') : header;
  const out: string[] = [];
  for (const part of joined.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

export interface CookieAttrs {
  secure: boolean;
  maxAgeSec: number;
  path?: string;
  sameSite?: 'Strict' | 'Lax';
}

/** A Set-Cookie value: always HttpOnly (page scripts never see it), SameSite=Strict unless told. */
export function serializeCookie(name: string, value: string, a: CookieAttrs): string {
  return [
    `${name}=${value}`,
    `Path=${a.path ?? '/'}`,
    `Max-Age=${Math.max(0, Math.floor(a.maxAgeSec))}`,
    'HttpOnly',
    `SameSite=${a.sameSite ?? 'Strict'}`,
    ...(a.secure ? ['Secure'] : []),
  ].join('; ');
}

/** Deletes the cookie in the browser (same name, path and flags, expired). */
export function clearCookie(name: string, a: Omit<CookieAttrs, 'maxAgeSec'>): string {
  return serializeCookie(name, '', { ...a, maxAgeSec: 0 });
}

/**
 * Set-Cookie values that expire every copy of cookie `name` a page could have planted for request path
 * `path` on `host`. Cookies ignore ports: any page on another port of the router's host (a sandbox app
 * behind `agenttier sandbox port-forward`, any local dev server) can set `agenttier_session` with a
 * narrower `Path` (or a `Domain` equal to the host), which the browser then sends next to the real one
 * on every request under that path for as long as the planter chose. The real cookie (host-only,
 * `Path=/`) is left alone: it cannot be told apart by value, and a page cannot overwrite an HttpOnly
 * cookie anyway. Only the path prefixes of this request can hold a cookie it carries.
 */
export function expirePlantedCookies(name: string, path: string, host: string | undefined): string[] {
  const paths: string[] = [];
  const segments = path.split('?')[0]!.split('/').filter(Boolean).slice(0, 32);
  let prefix = '';
  for (const segment of segments) {
    prefix += `/${segment}`;
    paths.push(prefix, `${prefix}/`);
  }
  // A cookie value and attributes are one line: never echo anything unsafe from the request into it.
  const safePaths = paths.filter((p) => /^[\x21-\x3a\x3c-\x7e]+$/.test(p) && p.length <= 1024);
  const hostname = host?.trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  // A `Domain` cookie for a name (not an address): `Domain=localhost` is a cookie apart from the
  // host-only one, also at `Path=/`.
  const domain =
    hostname && /^[a-z0-9.-]+$/.test(hostname) && !/^[\d.]+$/.test(hostname) ? hostname : undefined;
  const out: string[] = [];
  for (const p of safePaths) {
    out.push(`${name}=; Path=${p}; Max-Age=0`);
    if (domain) out.push(`${name}=; Path=${p}; Domain=${domain}; Max-Age=0`);
  }
  if (domain) out.push(`${name}=; Path=/; Domain=${domain}; Max-Age=0`);
  return out;
}
