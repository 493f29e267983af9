import { describe, expect, it } from 'vitest';
import * as sdk from './index.ts';

// The SDK's runtime exports, on purpose: a new export is a decision (add it here), and internals (the
// SSE parser, the WebSocket channel's constructor, stream resumption) stay inside.
describe('@agenttier/sdk public surface', () => {
  it('exports the client, its handles, the errors and a few constants only', () => {
    expect(Object.keys(sdk).sort()).toEqual(EXPECTED);
  });
});

const EXPECTED = [
  'AgentTier',
  'AgentTierError',
  'AuthenticationError',
  'ConcurrencyError',
  'ConfigureError',
  'ConflictError',
  'ConnectionError',
  'DEFAULT_API_URL',
  'DEFAULT_TIMEOUT_MS',
  'ForbiddenError',
  'NotConfiguredError',
  'NotFoundError',
  'PayloadTooLargeError',
  'PolicyViolationError',
  'RateLimitError',
  'SDK_VERSION',
  'Sandbox',
  'SandboxAgent',
  'SandboxErrorStateError',
  'SandboxFiles',
  'SandboxPorts',
  'SandboxProcesses',
  'Secrets',
  'ServerError',
  'Templates',
  'TerminalConnection',
  'TimeoutError',
  'ValidationError',
  'errorFromResponse',
  'normalizeRemotePath',
];
