/**
 * Turns any failure the tabs can meet into two sentences for a person: what went wrong, and what to
 * do next. The SDK's own hints name SDK methods and CLI commands; here the next step names what to
 * click in this UI, falling back to the API's client-neutral hint table.
 */
import { AgentTierError } from '@agenttier/sdk';

export interface ErrorAdvice {
  /** What happened, in the server's words when it gave any. */
  message: string;
  /** What the person can do about it. */
  next: string;
  /** The server's request id, to quote when reporting a problem. */
  requestId?: string;
}

const NEXT_BY_CODE: Record<string, string> = {
  SANDBOX_NOT_RUNNING: 'Resume the sandbox (Resume button at the top of the page), then try again.',
  INVALID_PHASE: 'Wait until the sandbox has finished changing state, then try again.',
  SANDBOX_NOT_FOUND: 'It may have been deleted: go back to the dashboard.',
  FILE_NOT_FOUND: 'It may have been removed or renamed meanwhile: refresh the file list.',
  PROCESS_NOT_FOUND: 'It finished and was forgotten: refresh the process list.',
  INVOKE_NOT_FOUND: 'It may have finished and been pruned: refresh the run history.',
  UNAUTHENTICATED: 'Your session has ended: sign in again.',
  FORBIDDEN: 'Ask the sandbox owner or an administrator for access.',
  PAYLOAD_TOO_LARGE: 'Files are limited to 32 MiB each: split or compress it, then upload the parts.',
  RATE_LIMITED: 'Too many requests at once: wait a few seconds and try again.',
  CONCURRENCY_EXCEEDED: 'Wait for a running invoke to finish (or cancel it), then try again.',
  NOT_CONFIGURED: 'Configure the agent first (Configure, above), then invoke it.',
  WRONG_MODE: 'This sandbox is in code mode; create an agent-mode sandbox to use agent runs.',
  ALREADY_EXISTS: 'Choose another name.',
  CONFLICT: 'Something changed meanwhile: refresh and try again.',
  UNAVAILABLE:
    'The sandbox is not answering yet: wait a few seconds and retry; if it persists, stop and resume it.',
  SANDBOX_BUSY: 'The sandbox is overloaded: wait a few seconds and retry.',
  UPSTREAM_UNREACHABLE: 'Nothing answers on that port: start the server in the sandbox, then reload.',
  CONNECTION_FAILED: 'Check that the AgentTier server is running and reachable, then retry.',
  CLIENT_TIMEOUT: 'The server took too long: check that it is healthy, then retry.',
  CONFIGURE_FAILED: 'Read the install log above, fix the install command or files, and configure again.',
};

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

export function adviseError(err: unknown): ErrorAdvice {
  if (err instanceof AgentTierError) {
    const details = err.details.map((d) => `${d.field}: ${d.message}`).join('; ');
    const message = `${err.serverMessage}${details && !err.serverMessage.includes(details) ? ` (${details})` : ''}`;
    const next =
      NEXT_BY_CODE[err.code] ??
      err.hint ??
      (err.status >= 500
        ? 'Retry in a moment; if it keeps failing, report it with the request id.'
        : 'Fix the input and try again.');
    return { message, next, ...(err.requestId ? { requestId: err.requestId } : {}) };
  }
  if (isAbort(err)) return { message: 'Cancelled.', next: 'Start it again when you are ready.' };
  const message = err instanceof Error ? err.message : String(err);
  return { message, next: 'Retry; if it keeps failing, reload the page.' };
}
