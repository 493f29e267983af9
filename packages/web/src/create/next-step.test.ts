import { errorFromResponse } from '@agenttier/sdk';
import { describe, expect, it } from 'vitest';
import { nextStepFor } from './next-step.ts';

const refused = (status: number, code: string) =>
  errorFromResponse({ status, body: { error: code, code, message: 'refused' } });

describe('nextStepFor', () => {
  it('gives the UI its own step where it has one, and the catalogue hint for the other codes', () => {
    expect(nextStepFor(refused(409, 'ALREADY_EXISTS'))).toMatch(/another name/);
    expect(nextStepFor(refused(403, 'QUOTA_EXCEEDED'))).toBe(
      'Delete sandboxes you no longer need, or ask an administrator for a higher cap.',
    );
    expect(nextStepFor(refused(403, 'POLICY_VIOLATION'))).toMatch(/governance policy/);
    expect(nextStepFor(refused(500, 'INTERNAL'))).toMatch(/server failed/);
  });
});
