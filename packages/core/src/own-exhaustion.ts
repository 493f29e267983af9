/**
 * Whether an error is the controller's own resource exhaustion rather than anything about the sandbox:
 * the process ran out of file descriptors (EMFILE, its own limit; ENFILE, the machine's) while talking
 * to the engine or the API server. That happened when ~20,000 half-sent requests held the router's
 * descriptors in the same process, and Running sandboxes were moved to Error for it. Looks through
 * `cause` chains and AggregateErrors, since runtimes wrap what the socket layer threw.
 */
const OWN_EXHAUSTION_CODES = new Set(['EMFILE', 'ENFILE']);

export function ownExhaustionCode(err: unknown, depth = 0): string | undefined {
  if (depth > 8 || err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && OWN_EXHAUSTION_CODES.has(e.code)) return e.code;
  // Some clients flatten the socket error into their message ("connect EMFILE /run/docker.sock").
  const inMessage = typeof e.message === 'string' ? /\b(EMFILE|ENFILE)\b/.exec(e.message) : null;
  if (inMessage) return inMessage[1];
  if (Array.isArray(e.errors))
    for (const inner of e.errors) {
      const code = ownExhaustionCode(inner, depth + 1);
      if (code) return code;
    }
  return ownExhaustionCode(e.cause, depth + 1);
}
