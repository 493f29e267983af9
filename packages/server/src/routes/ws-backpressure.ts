import type { WebSocket } from 'ws';

/** Above this much unsent data to a client, the relay stops reading from the sandbox. */
export const RELAY_HIGH_WATER_BYTES = 4 * 1024 * 1024;
const RELAY_LOW_WATER_BYTES = 1024 * 1024;

/**
 * Call after each `ws.send` of data relayed from a sandbox: while the client has more than
 * RELAY_HIGH_WATER_BYTES unsent, the source is paused (ws has no drain event, so the buffer is
 * polled), so a slow or stalled client slows the sandbox down instead of growing the router.
 */
export function holdWhileBuffered(ws: WebSocket, source: { pause(): void; resume(): void }): void {
  if (ws.bufferedAmount <= RELAY_HIGH_WATER_BYTES) return;
  source.pause();
  const resume = setInterval(() => {
    if (ws.bufferedAmount < RELAY_LOW_WATER_BYTES || ws.readyState !== ws.OPEN) {
      clearInterval(resume);
      source.resume();
    }
  }, 10);
}
