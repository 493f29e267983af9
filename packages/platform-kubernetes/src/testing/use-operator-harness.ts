import { afterEach, beforeEach } from 'vitest';
import type { KubernetesRuntimeOpts } from '../runtime/kubernetes-runtime.ts';
import type { OperatorHarness } from './operator-harness.ts';
import { startOperatorHarness } from './operator-harness.ts';

/**
 * Registers a fresh operator harness per test, with the stand-in kubelet on, closed after the test.
 * The returned handle always speaks for the current test's harness (it forwards every read), so it
 * can be declared once next to `describe`.
 */
export function useOperatorHarness(opts: Partial<KubernetesRuntimeOpts> = {}): OperatorHarness {
  let current: OperatorHarness | undefined;
  beforeEach(async () => {
    current = await startOperatorHarness(opts);
    current.autoKubelet(true);
  });
  afterEach(async () => {
    const finished = current;
    current = undefined;
    await finished?.close();
  });
  return new Proxy({} as OperatorHarness, {
    get(_target, key) {
      if (!current) throw new Error('the operator harness is not started (used outside a test?)');
      return Reflect.get(current, key, current) as unknown;
    },
  });
}
