/**
 * A terminal WebSocket through the router, for tests: every frame kept, the output text gathered,
 * input typed, and waits on the output (conditions, never times).
 */
import WebSocket from 'ws';
import { eventually } from '@agenttier/testkit';

export interface TerminalClient {
  ws: WebSocket;
  /** Every frame the router sent, parsed. */
  frames: Array<{ type: string; data?: string }>;
  /** The output text so far. */
  output(): string;
  /** Sends keys (an `input` frame). */
  type(data: string): void;
  /** Waits until the output matches `re`. @param timeoutMs @default 60000 */
  waitFor(re: RegExp, what?: string, timeoutMs?: number): Promise<true>;
}

/** Opens `path` (`/ws/terminal/<sandbox>?namespace=…&session=…`) on the router at `base`, once open. */
export async function openTerminal(
  base: string,
  path: string,
  opts: { headers?: Record<string, string> } = {},
): Promise<TerminalClient> {
  const ws = new WebSocket(
    `${base.replace('http', 'ws')}${path}`,
    opts.headers ? { headers: opts.headers } : {},
  );
  let output = '';
  const frames: TerminalClient['frames'] = [];
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as { type: string; data?: string };
    frames.push(frame);
    if (frame.type === 'output') output += frame.data ?? '';
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    output: () => output,
    type: (data) => ws.send(JSON.stringify({ type: 'input', data })),
    waitFor: (re, what = `terminal output matching ${re}`, timeoutMs = 60_000) =>
      eventually(() => re.test(output), what, {
        timeoutMs,
        lastSeen: () => JSON.stringify(output.slice(-500)),
      }),
  };
}
