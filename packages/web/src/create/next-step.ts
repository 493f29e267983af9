import { AgentTierError } from '@agenttier/sdk';

/** What a person can do about a failed create, by the server's error code. */
export function nextStepFor(err: unknown): string {
  if (!(err instanceof AgentTierError)) return 'Check that the AgentTier server is running, then try again.';
  switch (err.code) {
    case 'ALREADY_EXISTS':
      return 'Pick another name, or open the existing sandbox from the dashboard.';
    case 'VALIDATION_FAILED':
      return 'Fix the fields marked above and create again.';
    case 'UNPROCESSABLE':
      return 'The template or a requested size cannot be used on this machine: pick another template or lower the override.';
    case 'RATE_LIMITED':
      return 'Too many sandboxes were created just now: wait a moment and create again.';
    case 'UNAUTHENTICATED':
      return 'Your sign-in is no longer valid: reload the page and sign in again.';
    case 'FORBIDDEN':
      return 'Your account may not do this: ask an admin.';
    case 'CLIENT_TIMEOUT':
      return 'The sandbox did not reach Running in time: open it from the dashboard to see its phase and message.';
    default:
      // Otherwise the catalogue's hint for the code (contract's ERROR_HINTS, which the SDK attaches).
      if (err.hint) return `${err.hint}.`;
      return err.status >= 500
        ? 'The server failed: try again, and if it persists, check the server log for this request id.'
        : 'Change the request as the message says and try again.';
  }
}
