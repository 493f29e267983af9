import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { DataPlane, ExecOutcome, ExecSpec } from '@agenttier/core';
import { SandboxdError, createSandboxdClient } from '@agenttier/sandboxd';
import { SandboxdDataPlane, fromSandboxdError, isUnreachable } from './sandboxd-data-plane.ts';

const dir = mkdtempSync(join(tmpdir(), 'sdp-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sandbox = { metadata: { name: 'x', namespace: 'default', uid: 'u1' } } as unknown as Sandbox;

/** A data plane that records the execs it was asked to run (the engine, in production). */
class RecordingPlane implements Partial<DataPlane> {
  readonly execs: ExecSpec[] = [];
  async exec(_sb: Sandbox, spec: ExecSpec): Promise<ExecOutcome> {
    this.execs.push(spec);
    return {
      stdout: 'from the engine\n',
      stderr: '',
      exitCode: 0,
      durationMs: 1,
      timedOut: false,
      truncated: false,
    };
  }
}

describe('isUnreachable', () => {
  it('recognises the client error for a daemon that cannot be reached, wherever the errno sits', () => {
    const viaCause = new SandboxdError('unreachable', 'cannot reach sandboxd: ENOENT', {
      cause: Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }),
      details: { errno: 'ENOENT' },
    });
    expect(isUnreachable(viaCause)).toBe(true);
    expect(isUnreachable(new SandboxdError('unreachable', 'x', { details: { errno: 'ETIMEDOUT' } }))).toBe(
      true,
    );
    expect(isUnreachable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isUnreachable(new Error('x', { cause: { code: 'EPIPE' } }))).toBe(true);
  });

  it('is false for answers of a daemon that is up', () => {
    expect(isUnreachable(new SandboxdError('not_found', 'no such file'))).toBe(false);
    expect(isUnreachable(new SandboxdError('resource_exhausted', 'EAGAIN'))).toBe(false);
    expect(isUnreachable(new Error('boom'))).toBe(false);
    expect(isUnreachable(undefined)).toBe(false);
  });
});

describe('fromSandboxdError', () => {
  it('maps unreachable to a retryable catalogue error instead of INTERNAL', () => {
    const mapped = fromSandboxdError(
      new SandboxdError('unreachable', 'cannot reach sandboxd: ENOENT', { details: { errno: 'ENOENT' } }),
    );
    expect(mapped).toBeInstanceOf(PlatformError);
    expect(mapped).toMatchObject({ code: 'UNAVAILABLE', headers: { 'retry-after': '1' } });
  });

  it('maps a sandbox at its own limits to SANDBOX_BUSY with Retry-After, never to a 404', () => {
    const mapped = fromSandboxdError(
      new SandboxdError('resource_exhausted', 'cannot start process: EAGAIN', {
        details: { errno: 'EAGAIN' },
      }),
    );
    expect(mapped).toMatchObject({ code: 'SANDBOX_BUSY', status: 503, headers: { 'retry-after': '1' } });
  });
});

describe('SandboxdDataPlane', () => {
  it('falls back to the engine when sandboxd is not there (no socket)', async () => {
    const client = createSandboxdClient({ socketPath: join(dir, 'missing.sock') }, 'x'.repeat(20));
    const engine = new RecordingPlane();
    const plane = new SandboxdDataPlane(() => client, engine as unknown as DataPlane);
    try {
      const out = await plane.exec(sandbox, { argv: ['true'], timeoutMs: 1000, maxOutputBytes: 1024 });
      expect(out.stdout).toBe('from the engine\n');
      expect(engine.execs).toHaveLength(1);
    } finally {
      client.close();
    }
  });

  it('maps file calls on an unreachable daemon to UNAVAILABLE', async () => {
    const client = createSandboxdClient({ socketPath: join(dir, 'missing.sock') }, 'x'.repeat(20));
    const plane = new SandboxdDataPlane(() => client, new RecordingPlane() as unknown as DataPlane);
    try {
      await expect(plane.stat(sandbox, '/workspace')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      client.close();
    }
  });
});
