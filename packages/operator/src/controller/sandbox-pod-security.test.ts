// AGENTTIER_SANDBOX_POD_SECURITY (Helm sandbox.podSecurity): a typo must stop the controller, not
// start sandboxes in a mode nobody chose.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSandboxPodSecurity, startController } from './start-controller.ts';

describe('sandbox pod security setting', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('takes baseline and restricted, and refuses anything else with the setting named', () => {
    expect(parseSandboxPodSecurity('baseline', 'X')).toBe('baseline');
    expect(parseSandboxPodSecurity(' restricted ', 'X')).toBe('restricted');
    expect(() => parseSandboxPodSecurity('privileged', 'AGENTTIER_SANDBOX_POD_SECURITY')).toThrow(
      'AGENTTIER_SANDBOX_POD_SECURITY must be baseline or restricted (got "privileged")',
    );
  });

  it('the controller does not start with a bad value in its environment', async () => {
    vi.stubEnv('AGENTTIER_SANDBOX_POD_SECURITY', 'Baseline');
    await expect(startController({ healthPort: 0, metricsPort: 0 })).rejects.toThrow(
      /AGENTTIER_SANDBOX_POD_SECURITY must be baseline or restricted/,
    );
  });
});
