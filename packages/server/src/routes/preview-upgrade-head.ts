import type { Duplex } from 'node:stream';
import { PlatformError } from '@agenttier/contract';
import { HOP_BY_HOP_HEADERS } from '@agenttier/contract/tunnel';
import { isScopeWideningHeader, previewSetCookies } from './preview-proxy.ts';

/** The most a sandbox's handshake answer may send before its blank line (Node's own header limit). */
export const MAX_UPGRADE_HEAD_BYTES = 16 * 1024;

/**
 * The sandbox's answer to a proxied WebSocket handshake, as the browser may see it. The bytes after
 * the handshake are the app's, but the head is headers like any other response: without this the
 * sandbox could send `Set-Cookie: …; Domain=localhost` (a cookie on the API's host and every other
 * preview), a cookie named like the router's, or any scope-widening header, past the filter the HTTP
 * path applies. Throws for a head that is not `HTTP/1.x NNN …` followed by `Name: value` lines.
 */
export function filterUpgradeResponseHead(head: string): string {
  const [status = '', ...lines] = head.split('\r\n');
  if (!/^HTTP\/1\.[01] \d{3}(?: [^\r\n]*)?$/.test(status))
    throw new PlatformError(
      'UPSTREAM_UNREACHABLE',
      'the app in the sandbox answered the handshake with no HTTP status line',
    );
  const out = [status];
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new PlatformError(
        'UPSTREAM_UNREACHABLE',
        'the app in the sandbox answered the handshake with a malformed header line',
      );
    const lower = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (isScopeWideningHeader(lower)) continue;
    if (HOP_BY_HOP_HEADERS.has(lower) && lower !== 'upgrade' && lower !== 'connection') continue;
    if (lower === 'set-cookie') {
      for (const cookie of previewSetCookies(value)) out.push(`${name}: ${cookie}`);
      continue;
    }
    out.push(`${name}: ${value}`);
  }
  return `${out.join('\r\n')}\r\n\r\n`;
}

/**
 * Reads the sandbox's handshake answer up to its blank line (at most MAX_UPGRADE_HEAD_BYTES) and
 * resolves with the head and whatever bytes came after it. The tunnel is paused again afterwards.
 */
export function readUpgradeHead(
  tunnel: Duplex,
  maxBytes = MAX_UPGRADE_HEAD_BYTES,
): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err?: Error, value?: { head: string; rest: Buffer }) => {
      tunnel.off('data', onData);
      tunnel.off('end', onEnd);
      tunnel.off('error', onError);
      tunnel.pause();
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0 && end <= maxBytes)
        return done(undefined, {
          head: buf.subarray(0, end).toString('latin1'),
          rest: buf.subarray(end + 4),
        });
      if (buf.length > maxBytes)
        done(
          new PlatformError(
            'UPSTREAM_UNREACHABLE',
            `the app in the sandbox sent more than ${maxBytes} bytes of handshake headers`,
          ),
        );
    };
    const onEnd = () =>
      done(
        new PlatformError(
          'UPSTREAM_UNREACHABLE',
          'the app in the sandbox closed the connection during the handshake',
        ),
      );
    const onError = (err: Error) =>
      done(new PlatformError('UPSTREAM_UNREACHABLE', `preview tunnel failed: ${err.message}`));
    tunnel.on('data', onData);
    tunnel.once('end', onEnd);
    tunnel.once('error', onError);
  });
}
