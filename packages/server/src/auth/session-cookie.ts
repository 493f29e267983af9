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
