import { describe, expect, it } from 'vitest';
import type { ErrorCode } from './errors.ts';
import { ERROR_HINTS, ERROR_STATUS, STATUS_CODE, codeForStatus, retryHint } from './errors.ts';

describe('STATUS_CODE (the one status -> code table)', () => {
  it('maps each status to a code that has that status', () => {
    const wrong = Object.entries(STATUS_CODE).filter(
      ([status, code]) => ERROR_STATUS[code] !== Number(status),
    );
    expect(wrong).toEqual([]);
  });

  it('covers every status the catalogue uses', () => {
    const statuses = [...new Set(Object.values(ERROR_STATUS))];
    expect(statuses.filter((s) => STATUS_CODE[s] === undefined)).toEqual([]);
  });

  it('picks the generic code where several share a status', () => {
    expect([409, 429, 502].map((s) => codeForStatus(s))).toEqual([
      'CONFLICT',
      'RATE_LIMITED',
      'UPSTREAM_UNREACHABLE',
    ]);
  });

  it('falls back to BAD_REQUEST / INTERNAL for statuses it does not list, and to nothing below 400', () => {
    expect(codeForStatus(418)).toBe('BAD_REQUEST');
    expect(codeForStatus(599)).toBe('INTERNAL');
    expect(codeForStatus(302)).toBeUndefined();
  });
});

describe('ERROR_HINTS', () => {
  it('names no SDK option or CLI command (each client adds its own)', () => {
    const specific = Object.entries(ERROR_HINTS).filter(([, h]) =>
      /agenttier |new AgentTier|--/.test(h ?? ''),
    );
    expect(specific).toEqual([]);
  });

  it('only has codes of the catalogue', () => {
    expect(Object.keys(ERROR_HINTS).filter((c) => !(c in ERROR_STATUS))).toEqual([] as ErrorCode[]);
  });

  it('says when to retry', () => {
    expect(retryHint(2500)).toBe('Retry in 3s');
    expect(retryHint(0)).toBe('Retry in 1s');
    expect(retryHint(undefined)).toBe('Slow down and retry');
  });
});
