import { AgentTierError } from '@agenttier/sdk';

/**
 * An error as a sentence a person can act on: the server's message with its hint (what to do next),
 * the per-field problems, and the request id for reports.
 */
export function describeError(err: unknown): string {
  if (err instanceof AgentTierError) {
    const parts = [err.message];
    if (err.details.length > 0)
      parts.push(err.details.map((d) => `${d.field || '(body)'}: ${d.message}`).join('; '));
    if (err.requestId) parts.push(`(request ${err.requestId})`);
    return parts.join(' — ');
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
