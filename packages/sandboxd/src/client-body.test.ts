/**
 * The exec answer comes from inside the sandbox: a daemon that ignores the per-stream cap it was
 * given is cut to it by the client, exactly as an obedient one would have cut itself.
 */
import { describe, expect, it } from 'vitest';
import { capExecResult, execAnswerMaxBytes } from './client-body.ts';
import { EXEC_TRUNCATION_MARKER } from './protocol.ts';

const answer = (stdout: string, stderr = '', truncated = false) => ({
  stdout,
  stderr,
  truncated,
  exitCode: 0,
  signal: null,
  durationMs: 1,
  timedOut: false,
});

describe('capExecResult', () => {
  it('keeps an answer within the cap as it is, marker included', () => {
    const ok = answer('a'.repeat(10) + EXEC_TRUNCATION_MARKER, 'e', true);
    expect(capExecResult(ok, { maxOutputBytes: 10 })).toEqual(ok);
  });

  it('cuts each stream past the cap and sets truncated', () => {
    const r = capExecResult(answer('a'.repeat(100), 'é'.repeat(100)), { maxOutputBytes: 10 });
    expect(r.stdout).toBe('a'.repeat(10) + EXEC_TRUNCATION_MARKER);
    expect(Buffer.byteLength(r.stderr)).toBeLessThanOrEqual(10 + EXEC_TRUNCATION_MARKER.length);
    expect(r.truncated).toBe(true);
  });

  it('counts decoded bytes for base64 output', () => {
    const b64 = Buffer.alloc(100, 1).toString('base64');
    const r = capExecResult(answer(b64, ''), { maxOutputBytes: 10, outputEncoding: 'base64' });
    expect(Buffer.from(r.stdout, 'base64')).toHaveLength(10);
    expect(r.truncated).toBe(true);
  });

  it('refuses an answer without output strings', () => {
    expect(() => capExecResult({ stdout: 1, stderr: '', truncated: false }, {})).toThrow(/stdout/);
  });

  it('bounds the whole answer by the worst JSON escaping of both streams', () => {
    expect(execAnswerMaxBytes(1000)).toBe(2 * 6 * 1000 + 64 * 1024);
  });
});
