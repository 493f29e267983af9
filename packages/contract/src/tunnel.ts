/**
 * What every byte tunnel and reverse proxy of AgentTier shares (sandboxd's TCP tunnel, the router's
 * preview proxy, the CLI's port-forward): the hop-by-hop header list and the splice that joins two
 * byte streams. `@agenttier/contract/tunnel`; the contract imports no platform library, so the streams
 * are described by what splice uses of them (a node:stream Duplex, e.g. a socket, has all of it).
 */

/** Hop-by-hop headers a proxy never forwards (RFC 9110 §7.6.1); each proxy adds its own (e.g. `host`). */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The part of a node:stream Duplex that splice uses; `TPeer` is the stream it is spliced to. */
export interface SpliceableStream<TPeer> {
  pipe(destination: TPeer): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'end' | 'close' | 'finish', listener: () => void): unknown;
  destroy(): unknown;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
}

/**
 * Pipes two byte streams into each other, propagating half-close (FIN) both ways; an error or an
 * abrupt close on either side tears both down. A side that ended cleanly is destroyed only once the
 * other has written everything it was sent, so the last bytes of an answer are not cut off.
 */
export function splice<TA extends SpliceableStream<TB>, TB extends SpliceableStream<TA>>(a: TA, b: TB): void {
  const destroyBoth = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', destroyBoth);
  b.on('error', destroyBoth);
  a.pipe(b);
  b.pipe(a);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    let ended = false;
    x.once('end', () => (ended = true));
    x.once('close', () => {
      if (!ended) y.destroy();
      else if (y.writableFinished || y.destroyed) y.destroy();
      else y.once('finish', () => y.destroy());
    });
  }
}
