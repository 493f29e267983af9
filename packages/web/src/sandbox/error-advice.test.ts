import { describe, expect, it } from 'vitest';
import { ConflictError, ConnectionError, ValidationError, errorFromResponse } from '@agenttier/sdk';
import { adviseError } from './error-advice.ts';

describe('adviseError', () => {
  it('names the next step in this UI for the codes a tab meets', () => {
    const err = errorFromResponse({
      status: 409,
      body: {
        error: 'sandbox "x" is not running',
        code: 'SANDBOX_NOT_RUNNING',
        message: 'sandbox "x" is not running',
        requestId: 'r1',
      },
    });
    expect(err).toBeInstanceOf(ConflictError);
    expect(adviseError(err)).toEqual({
      message: 'sandbox "x" is not running',
      next: 'Resume the sandbox (Resume button at the top of the page), then try again.',
      requestId: 'r1',
    });
    expect(adviseError(new ConnectionError('down', { code: 'CONNECTION_FAILED' })).next).toBe(
      'Check that the AgentTier server is running and reachable, then retry.',
    );
  });

  it('lists the fields of a validation error', () => {
    const err = new ValidationError('invalid patch', {
      code: 'VALIDATION_FAILED',
      status: 400,
      details: [{ field: 'idleTimeout', rule: 'duration', message: 'is not a duration' }],
    });
    expect(adviseError(err).message).toBe('invalid patch (idleTimeout: is not a duration)');
  });

  it('explains anything else without inventing a cause', () => {
    expect(adviseError(new Error('boom'))).toEqual({
      message: 'boom',
      next: 'Retry; if it keeps failing, reload the page.',
    });
    expect(adviseError(new DOMException('stop', 'AbortError')).message).toBe('Cancelled.');
  });
});
