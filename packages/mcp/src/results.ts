import { AgentTierError } from '@agenttier/sdk';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A successful tool result: a short text line, and the data as JSON for the model to read. */
export function ok(summary: string, data?: unknown): CallToolResult {
  const text = data === undefined ? summary : `${summary}\n${JSON.stringify(data, null, 2)}`;
  return { content: [{ type: 'text', text }] };
}

/**
 * A failed call as a tool error (never a protocol error: the model should read it and try again). The
 * API's code and status come first, then its message (which carries the SDK's hint), then field details.
 */
export function toolError(err: unknown): CallToolResult {
  let text: string;
  if (err instanceof AgentTierError) {
    const status = err.status ? ` (HTTP ${err.status})` : '';
    const details = err.details?.length
      ? `\n${err.details.map((d) => `- ${d.field}: ${d.message}`).join('\n')}`
      : '';
    text = `${err.code}${status}: ${err.message}${details}`;
  } else {
    text = `ERROR: ${err instanceof Error ? err.message : String(err)}`;
  }
  return { content: [{ type: 'text', text }], isError: true };
}

/** Runs a tool body; any thrown error becomes a tool error. */
export async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    return toolError(err);
  }
}

/** At most `maxBytes` of `text` (UTF-8), and how many bytes were cut. */
export function capText(text: string, maxBytes: number): { text: string; cutBytes: number } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, cutBytes: 0 };
  // Cut on a character boundary: decoding a prefix may end in a partial character, which is dropped.
  const head = new TextDecoder('utf-8', { fatal: false })
    .decode(bytes.subarray(0, maxBytes))
    .replace(/\uFFFD$/, '');
  return { text: head, cutBytes: bytes.length - Buffer.byteLength(head) };
}

/** A capped stream for a result, with the cut said in words. */
export function capped(text: string, maxBytes: number, what: string): string {
  const { text: head, cutBytes } = capText(text, maxBytes);
  return cutBytes
    ? `${head}\n[${what}: ${cutBytes} more bytes not shown; write the output to a file and read parts of it, or raise maxOutputBytes]`
    : head;
}
