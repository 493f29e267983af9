import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  SESSION_BINDING_HEADER,
  SESSION_BINDING_RE,
  SESSION_BINDING_WS_PREFIX,
  SESSION_BINDING_WS_PROTOCOL,
} from '@agenttier/contract';

type Headers = Record<string, string | string[] | undefined>;

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A fresh binding value (for a login whose client did not choose one). */
export function newSessionBinding(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 (hex) of a binding: the session keeps only this. */
export function hashSessionBinding(binding: string): string {
  return createHash('sha256').update(binding, 'latin1').digest('hex');
}

/** The subprotocols a WebSocket handshake offers (`Sec-WebSocket-Protocol`, comma-separated, maybe repeated). */
function offeredProtocols(headers: Headers): string[] {
  const raw = headers['sec-websocket-protocol'];
  const joined = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return joined
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * The binding a request presents: the `X-AgentTier-Session-Binding` header, else (a browser WebSocket,
 * which cannot send headers) an offered subprotocol `agenttier.binding.<value>`. Undefined when it
 * presents none or a malformed one.
 */
export function presentedSessionBinding(headers: Headers): string | undefined {
  const header = single(headers[SESSION_BINDING_HEADER])?.trim();
  if (header !== undefined) return SESSION_BINDING_RE.test(header) ? header : undefined;
  const bound = offeredProtocols(headers).filter((p) => p.startsWith(SESSION_BINDING_WS_PREFIX));
  if (bound.length !== 1) return undefined;
  const value = bound[0]!.slice(SESSION_BINDING_WS_PREFIX.length);
  return SESSION_BINDING_RE.test(value) ? value : undefined;
}

/** Whether `presented` is the binding whose hash a session holds (constant time). */
export function bindingMatches(presented: string | undefined, storedHash: string | undefined): boolean {
  if (presented === undefined || storedHash === undefined || !/^[0-9a-f]{64}$/.test(storedHash)) return false;
  return timingSafeEqual(Buffer.from(hashSessionBinding(presented), 'hex'), Buffer.from(storedHash, 'hex'));
}

/**
 * The subprotocol the router answers a WebSocket handshake with: `agenttier` when offered (the web
 * UI offers it next to its binding, and a browser fails a handshake that offered subprotocols and got
 * none back), else none. Never the binding: it would be echoed in the answer for nothing.
 */
export function selectWebSocketProtocol(offered: Set<string>): string | false {
  return offered.has(SESSION_BINDING_WS_PROTOCOL) ? SESSION_BINDING_WS_PROTOCOL : false;
}
