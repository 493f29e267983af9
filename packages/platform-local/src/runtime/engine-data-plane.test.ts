import { describe, expect, it } from 'vitest';
import { statFailure } from './engine-data-plane.ts';

describe('statFailure', () => {
  it('is FILE_NOT_FOUND only for what stat itself reports missing', () => {
    expect(
      statFailure('/workspace/x', 1, "stat: cannot statx '/workspace/x': No such file or directory\n"),
    ).toMatchObject({
      code: 'FILE_NOT_FOUND',
      status: 404,
    });
    expect(
      statFailure('/workspace/a/b', 1, "stat: cannot statx '/workspace/a/b': Not a directory"),
    ).toMatchObject({
      code: 'FILE_NOT_FOUND',
    });
  });

  it('is SANDBOX_BUSY with Retry-After when stat could not run (a sandbox at its pids limit)', () => {
    const e = statFailure(
      '/workspace',
      126,
      'OCI runtime exec failed: exec failed: unable to start container process: read init-p: connection reset by peer: unknown',
    );
    expect(e).toMatchObject({ code: 'SANDBOX_BUSY', status: 503, headers: { 'retry-after': '1' } });
    expect(e.message).toMatch(/pids or memory limit/);
    expect(statFailure('/workspace', -1, 'fork: Resource temporarily unavailable')).toMatchObject({
      code: 'SANDBOX_BUSY',
    });
  });

  it('is FORBIDDEN when the sandbox user may not look', () => {
    expect(statFailure('/root/x', 1, "stat: cannot statx '/root/x': Permission denied")).toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});
